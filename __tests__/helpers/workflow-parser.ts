import {readFileSync} from 'node:fs';
import {registerHooks} from 'node:module';
import {fileURLToPath} from 'node:url';

// @actions/workflow-parser imports its JSON schemas without `with { type: 'json' }` (it expects
// a bundler); Node refuses that. Serve those JSON files as ES modules instead.
registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith('file:') && url.endsWith('.json') && url.includes('/@actions/workflow-parser/')) {
      return {format: 'module', source: `export default ${readFileSync(fileURLToPath(url), 'utf8')};`, shortCircuit: true};
    }
    return nextLoad(url, context);
  }
});

export const {NoOperationTraceWriter, parseWorkflow} = await import('@actions/workflow-parser');
export const {parseAction} = await import('@actions/workflow-parser/actions/index');
