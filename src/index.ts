import * as core from '@actions/core';
import { run } from './main.js';
import { runPost } from './post.js';

// One bundle serves both steps: the main step marks itself in the state the post step reads.
if (core.getState('isPost') === 'true') {
  await runPost();
} else {
  core.saveState('isPost', 'true');
  await run();
}
