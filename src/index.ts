import { run } from './main.js';

// The runner executes `node dist/index.js`; this is the whole entry point.
await run();
