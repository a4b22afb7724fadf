import type {BuildMode} from '../inputs/inputs.js';
import {formatPlatform, type Platform} from '../platform/platform.js';
import type {SourceEntry} from '../buildpack/files.js';
import {platformRoot} from '../buildpack/tree.js';
import {UserError} from '../util/errors.js';
import type {GoCommand} from './go.js';

/** How the binaries of every platform come to be. */
export type BuildStrategy =
  | {kind: 'prebuilt'} // linux/<arch>/bin shipped in the source
  | {kind: 'go'; commands: GoCommand[]} // cross-compile cmd/<name> (Paketo's packit and libpak layouts)
  | {kind: 'scripts'} // architecture-independent bin/ scripts
  | {kind: 'command'; command: string}
  | {kind: 'none'};

export function chooseStrategy(mode: BuildMode, buildCommand: string | undefined, source: SourceEntry[], platforms: Platform[], dir: string, isComposite: boolean): BuildStrategy {
  if (mode === 'none') return {kind: 'none'};
  if (mode === 'command') return {kind: 'command', command: buildCommand ?? ''};
  if (isComposite) return {kind: 'none'}; // an [[order]] buildpack has no binaries of its own
  const has = (p: string): boolean => source.some(e => e.path === p);
  const under = (p: string): boolean => source.some(e => e.type !== 'directory' && e.path.startsWith(`${p}/`));
  if (platforms.every(p => under(`${platformRoot(p)}/bin`))) return {kind: 'prebuilt'};
  const isGo = (p: string): boolean => p.endsWith('.go') && !p.endsWith('_test.go');
  const names = [...new Set(source.filter(e => e.type === 'file' && /^cmd\/[^/]+\/[^/]+$/.test(e.path) && isGo(e.path)).map(e => e.path.split('/')[1]))].sort();
  const commands: GoCommand[] = names.map(name => ({name, pkg: `./cmd/${name}`}));
  // packit's github-config layout also builds a top-level run/ package into bin/run.
  if (!names.includes('run') && source.some(e => e.type === 'file' && /^run\/[^/]+$/.test(e.path) && isGo(e.path))) commands.unshift({name: 'run', pkg: './run'});
  if (has('go.mod') && commands.length > 0) return {kind: 'go', commands};
  if (under('bin')) return {kind: 'scripts'};
  const missing = platforms.filter(p => !under(`${platformRoot(p)}/bin`)).map(formatPlatform);
  throw new UserError(
    `Found nothing to build ${dir} for ${missing.join(', ')}: no ${platformRoot(platforms[0])}/bin, no go.mod with cmd/<name>/main.go (cmd/run for packit, cmd/main for libpak) and no bin/ scripts; add one of them, or set build: command with a build-command that fills $OUTPUT_DIR/bin.`
  );
}
