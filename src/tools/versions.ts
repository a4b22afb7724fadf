/**
 * The versions installed when `tools` names a tool without one. Kept in this one place so an
 * update is a one-line change; exact versions install without asking GitHub anything.
 */
export const DEFAULT_VERSIONS = {
  pack: '0.38.2',
  jam: '2.17.3',
  buildx: '0.27.0',
} as const;

export type ToolName = keyof typeof DEFAULT_VERSIONS;

export const TOOL_NAMES = Object.keys(DEFAULT_VERSIONS) as ToolName[];
