/**
 * The newest stable release of each tool as last checked, with where it was read. A default
 * below may be newer (a release since), never older: a unit test holds the defaults to this
 * table, so bumping one without the other, or letting the table fall behind the defaults, fails.
 */
export const KNOWN_RELEASES = {
  pack: {
    version: '0.40.9',
    released: '2026-08-12',
    source: "buildpacks/github-actions setup-pack's DEFAULT_PACK_VERSION (#448); Paketo's github-config pins 0.40.8"
  },
  jam: {
    version: '2.18.0',
    released: 'by 2026-08-03',
    source: 'paketo-buildpacks/github-config implementation/scripts/.util/tools.json (#1351)'
  },
  buildx: {
    version: '0.38.0',
    released: '2026-10-07',
    source: 'docker/buildx releases (buildx-v0.38.0.linux-amd64)'
  }
} as const;

/**
 * The versions installed when `tools` names a tool without one. Kept in this one place so an
 * update is a one-line change; exact versions install without asking GitHub anything.
 */
export const DEFAULT_VERSIONS = {
  pack: '0.40.9',
  jam: '2.18.0',
  buildx: '0.38.0'
} as const;

export type ToolName = keyof typeof DEFAULT_VERSIONS;

export const TOOL_NAMES = Object.keys(DEFAULT_VERSIONS) as ToolName[];
