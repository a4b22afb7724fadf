/** Every input of action.yml (a test keeps the two in step); the CLI accepts each as --<name>. */
export const INPUT_NAMES = [
  'path',
  'architectures',
  'version',
  'output',
  'build',
  'build-command',
  'experimental',
  'experimental-architectures',
  'annotations',
  'tags',
  'push',
  'registry-username',
  'registry-password',
  'insecure-registries',
  'format',
  'tools',
  'tools-download-base-url',
  'cache',
  'cache-save',
  'packager',
  'offline',
  'mode',
  'manifests',
  'layout',
  'expected-digest',
  'asset-name',
  'smoke-test',
  'smoke-app',
  'smoke-command',
  'summary',
  'sbom'
] as const;

/** The variable the runner sets for an input (what @actions/core reads). */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}
