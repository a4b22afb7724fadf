import * as core from '@actions/core';
import { formatPlatform } from '../platform/platform.js';
import { errorMessage } from '../util/errors.js';
import type { RunMetadata } from './outputs.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A job summary table of platforms, digests and sizes. A summary failure is only a warning. */
export async function writeSummary(metadata: RunMetadata): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return; // outside Actions (the CLI): nothing to write to
  try {
    core.summary
      .addHeading(escapeHtml(`${metadata.id} ${metadata.version}`), 3)
      .addRaw(`Image index <code>${metadata.digest}</code> (${metadata.size} bytes)`, true)
      .addTable([
        [
          { data: 'Platform', header: true },
          { data: 'Manifest digest', header: true },
          { data: 'Size', header: true },
          { data: 'Experimental', header: true },
          { data: 'Smoke test', header: true },
        ],
        ...metadata.manifests.map((m) => {
          const smoke = metadata.smoke.find((s) => s.platform === formatPlatform(m.platform));
          const status = smoke ? `${smoke.status}${smoke.status === 'failed' && smoke.experimental ? ' (not blocking)' : ''}` : '-';
          return [formatPlatform(m.platform), `<code>${m.digest}</code>`, String(m.size), m.experimental ? 'yes' : 'no', escapeHtml(status)];
        }),
      ]);
    if (metadata.tags.length) {
      core.summary.addRaw('Published to:', true).addList(metadata.tags.map((t) => `<code>${escapeHtml(t)}</code>`));
    }
    await core.summary.write();
  } catch (error) {
    core.warning(`Could not write the job summary: ${errorMessage(error)}`);
  }
}
