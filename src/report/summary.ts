import path from 'node:path';
import * as core from '@actions/core';
import {formatPlatform} from '../platform/platform.js';
import {errorMessage} from '../util/errors.js';
import type {FailureReport} from './failure.js';
import type {RunMetadata, SmokeRecord} from './outputs.js';
import type {RunProgress} from './progress.js';

// Everything from outside (ids, tags, tool versions, error sentences) is escaped: the summary is
// HTML as much as Markdown.
function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`|\\[\]*_]/g, c => `&#${c.charCodeAt(0)};`);
}

function code(text: string): string {
  return `<code>${escapeHtml(text)}</code>`;
}

/** `sha256:0123456789ab`: what a reader compares at a glance; the full digest is below it. */
export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

/** `12.3 MiB (12912345 bytes)`: readable, and exact for whoever compares it with a registry. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const readable = unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
  return unit === 0 ? readable : `${readable} (${bytes} bytes)`;
}

function smokeStatus(smoke: SmokeRecord | undefined): string {
  if (!smoke) return 'not run';
  return `${smoke.status}${smoke.status === 'failed' && smoke.experimental ? ' (experimental: not blocking)' : ''}`;
}

/** What happened to the index, in a word for the heading. */
function outcome(metadata: RunMetadata): string {
  if (metadata.tags.length) return 'published';
  if (metadata.push && metadata.manifests.length) return 'pushed by digest (no tag)';
  return 'packaged (nothing pushed)';
}

/**
 * The job summary of a run that succeeded: per platform the image's size, digest and smoke
 * result; the image@digest to pull, in a block to copy; the tags; what was uploaded; the tools.
 * Skipped outside Actions and when turned off; a failure to write it is only a warning.
 */
export async function writeSummary(metadata: RunMetadata, enabled = true): Promise<void> {
  if (!enabled || !process.env.GITHUB_STEP_SUMMARY) return;
  try {
    const s = core.summary;
    s.addHeading(`${escapeHtml(`${metadata.id} ${metadata.version}`)}: ${outcome(metadata)}`, 3);
    if (metadata.image) s.addRaw('Pull it by digest:', true).addCodeBlock(escapeHtml(metadata.image), 'text');
    s.addRaw(`Image index ${code(metadata.digest)}, ${escapeHtml(metadata.mediaType)}, over ${metadata.manifests.length} platform${metadata.manifests.length === 1 ? '' : 's'}.`, true);
    s.addTable([
      [
        {data: 'Platform', header: true},
        {data: 'Manifest', header: true},
        {data: 'Image size (compressed)', header: true},
        {data: 'Experimental', header: true},
        {data: 'Smoke test', header: true}
      ],
      ...metadata.manifests.map(m => {
        const platform = formatPlatform(m.platform);
        const size = metadata.imageSizes[platform];
        return [
          escapeHtml(platform),
          code(shortDigest(m.digest)),
          size === undefined ? 'see the package job' : escapeHtml(formatBytes(size)),
          m.experimental ? 'yes' : 'no',
          escapeHtml(smokeStatus(metadata.smoke.find(x => x.platform === platform)))
        ];
      })
    ]);
    const digests = [`index ${metadata.digest}`, ...metadata.manifests.map(m => `${formatPlatform(m.platform)} ${m.digest}`)];
    s.addDetails('Full digests', `<pre><code>${digests.map(escapeHtml).join('\n')}</code></pre>`);
    if (metadata.tags.length) s.addRaw('Tags written, each naming this index:', true).addList(metadata.tags.map(code));
    if (metadata.push) {
      const p = metadata.push;
      s.addRaw(
        `Upload: ${p.uploaded} blob${p.uploaded === 1 ? '' : 's'} uploaded (${escapeHtml(formatBytes(p.bytesUploaded))}), ${p.mounted} mounted from another repository, ${p.existing} already present; ${p.requests} requests, ${p.retries} retried.`,
        true
      );
    }
    const sboms = Object.values(metadata['sbom-files'] ?? {});
    if (sboms.length) {
      const attached = metadata.push ? `, attached to each platform manifest as an OCI referrer${metadata.push.referrerTags ? ` (${metadata.push.referrerTags} referrers tags written, the registry having no referrers API)` : ''}` : '';
      s.addRaw(`SBOMs (CycloneDX 1.6)${attached}:`, true).addList(sboms.map(f => code(path.basename(f))));
    }
    const tools = Object.entries(metadata.tools);
    if (tools.length) {
      s.addTable([
        [
          {data: 'Tool', header: true},
          {data: 'Version', header: true}
        ],
        ...tools.map(([name, t]) => [escapeHtml(name), code(t.version)])
      ]);
    } else {
      s.addRaw('Tools: none installed (the native packager needs none).', true);
    }
    await s.write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}

/** What reached a registry before the failure, in the words the reader needs. */
export function publishedBeforeFailure(progress: RunProgress): string {
  if (progress.tagsWritten.length) {
    const rest = progress.tagsPlanned - progress.tagsWritten.length;
    return `${progress.tagsWritten.length} of ${progress.tagsPlanned} tags were written before the failure, each naming the complete index: ${progress.tagsWritten.join(', ')}${rest > 0 ? `; run again to write the other ${rest}` : ''}.`;
  }
  if (progress.contentSent) return 'Nothing was published: no tag was written (blobs and manifests sent before the failure are reachable by digest only).';
  return 'Nothing was published: nothing was sent to any registry.';
}

/** The job summary of a failed run: what failed, where, and what (if anything) was published. */
export async function writeFailureSummary(failure: FailureReport, progress: RunProgress, enabled = true): Promise<void> {
  if (!enabled || !process.env.GITHUB_STEP_SUMMARY) return;
  try {
    const what = progress.module ? `${progress.module.id} ${progress.module.version}` : 'multiarch-buildpack-action';
    const s = core.summary;
    s.addHeading(`${escapeHtml(what)}: failed`, 3);
    s.addRaw(`<b>Failed at:</b> ${escapeHtml(progress.stage)}`, true);
    s.addQuote(escapeHtml(failure.sentence));
    if (failure.file) s.addRaw(`In ${code(failure.file)}${failure.line ? `, line ${failure.line}` : ''}.`, true);
    s.addRaw(escapeHtml(publishedBeforeFailure(progress)), true);
    if (failure.kind === 'bug') s.addRaw('This is a bug in the action: please report it with the log (re-run with debug logging for the stack).', true);
    await s.write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}

/** The job summary of mode: smoke: each platform's result. */
export async function writeSmokeSummary(source: string, results: SmokeRecord[], enabled = true): Promise<void> {
  if (!enabled || !process.env.GITHUB_STEP_SUMMARY) return;
  try {
    core.summary.addHeading(`Smoke test of ${escapeHtml(source)}`, 3).addTable([
      [
        {data: 'Platform', header: true},
        {data: 'Result', header: true},
        {data: 'Summary', header: true}
      ],
      ...results.map(r => [escapeHtml(r.platform), escapeHtml(smokeStatus(r)), escapeHtml(r.summary)])
    ]);
    await core.summary.write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}
