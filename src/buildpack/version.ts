import * as core from '@actions/core';
import path from 'node:path';
import {UserError} from '../util/errors.js';
import {applyEdits, parseToml, setString} from './toml.js';
import type {BuildpackDescriptor} from './descriptor.js';

// The version becomes an image tag and a path component, so it must satisfy the tag grammar
// (distribution/reference): semver build metadata (`+build`) and templates do not.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** A git tag's spelling of a version: `v1.2.3`, `v2.0.0-rc.1`. */
const GIT_TAG = /^v(\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?)$/;

/** The version input with a git tag's `v` dropped (and a notice saying so). */
export function normaliseVersionInput(input: string | undefined): string | undefined {
  const tag = input !== undefined ? GIT_TAG.exec(input) : null;
  if (!tag) return input;
  core.notice(`Input "version" is ${input}, a git tag's spelling: using ${tag[1]}, as buildpack versions carry no "v".`);
  return tag[1];
}

/**
 * The version to publish: the input, else buildpack.toml's, which must then be a real one. A
 * git tag's `v1.2.3` (what `github.ref_name` gives) is published as 1.2.3, as Paketo's release
 * workflows strip it: buildpack versions carry no v.
 */
export function resolveVersion(input: string | undefined, descriptor: BuildpackDescriptor): string {
  input = normaliseVersionInput(input);
  if (input !== undefined) {
    if (!TAG.test(input)) {
      throw new UserError(`Input "version" is "${input}", which cannot be an image tag; use letters, digits, ".", "_" and "-" only (write 1.2.3-build.5 rather than 1.2.3+build.5).`);
    }
    return input;
  }
  const version = descriptor.version;
  if (!version) {
    throw new UserError(`${descriptor.file} has no ${descriptor.kind}.version and the "version" input is empty; set the version input (for example version: 1.2.3).`, {file: descriptor.file, key: descriptor.kind});
  }
  if (!TAG.test(version)) {
    throw new UserError(`${descriptor.file} has the version "${version}", which is not a real version; set the "version" input (for example version: 1.2.3) or write one into ${path.basename(descriptor.file)}.`, {
      file: descriptor.file,
      key: `${descriptor.kind}.version`
    });
  }
  return version;
}

/**
 * buildpack.toml as it ships: the original text with only `[buildpack] version` replaced (or
 * added under `[buildpack]`), so comments, ordering, line endings and everything else stay as
 * the author wrote them.
 */
export function renderDescriptor(descriptor: BuildpackDescriptor, version: string): string {
  const doc = parseToml(descriptor.text, descriptor.file);
  const text = applyEdits(doc, [setString(doc, descriptor.kind, 'version', version)]);
  const check = parseToml(text, descriptor.file).value as Record<string, {version?: unknown} | undefined>;
  if (check[descriptor.kind]?.version !== version) throw new Error(`writing the version into ${descriptor.file} did not take`);
  return text;
}
