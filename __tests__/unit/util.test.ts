/**
 * The small utilities under src/util: cancellation (CancelledError, temporaries removed at exit,
 * a SIGTERM stopping a child's whole process group — signals go only to child processes, never to
 * this one), mapLimit, file and stream hashing, logging that frames command-like text with
 * ::stop-commands::, runProcess / childEnv / ProcessError / lastLine, and the secret registry.
 */
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, realpath, writeFile} from 'node:fs/promises';
import {availableParallelism} from 'node:os';
import path from 'node:path';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {setTimeout as sleep} from 'node:timers/promises';
import {describe, it} from 'node:test';
import {cancellation, cancelledBy, CancelledError, throwIfCancelled} from '../../src/util/cancel.js';
import {coreCount, mapLimit} from '../../src/util/concurrency.js';
import {Digester, hashFile} from '../../src/util/hash.js';
import {info, looksLikeCommand} from '../../src/util/log.js';
import {childEnv, lastLine, ProcessError, runProcess, type ProcessResult} from '../../src/util/process.js';
import {holdsSecret, registerSecret} from '../../src/util/secrets.js';
import {tempDir} from '../helpers/fixtures.js';

const SHA256_EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA256_ABC = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What `fn` writes to stdout, synchronously (so nothing of the test runner's is caught). */
function captureStdout(fn: () => void): string {
  const original = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = (chunk: string | Uint8Array): boolean => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return out;
}

/** Sets environment variables for the length of `fn`, then puts back what was there. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const moduleUrl = (name: string): string => new URL(`../../src/util/${name}.js`, import.meta.url).href;

/** A Node child running an ES module script that imports the compiled util modules (CANCEL, PROCESS). */
function nodeChild(script: string, args: string[]): {child: ReturnType<typeof spawn>; done: Promise<{code: number | null; stdout: string; stderr: string}>} {
  const source = `const CANCEL = ${JSON.stringify(moduleUrl('cancel'))}; const PROCESS = ${JSON.stringify(moduleUrl('process'))};\n${script}`;
  const env = {...process.env};
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, ...args], {env, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', code => resolve({code, stdout, stderr}));
  });
  return {child, done};
}

describe('cancellation', () => {
  it('is not cancelled in a run that got no signal, and CancelledError is an Error of its own name', () => {
    assert.equal(cancellation.aborted, false);
    assert.equal(cancelledBy, undefined);
    assert.doesNotThrow(() => throwIfCancelled());
    const error = new CancelledError('stop');
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'CancelledError');
    assert.equal(error.message, 'stop');
  });

  it('removes tracked temporaries at exit and keeps released ones; installing twice adds no second listener', async () => {
    const root = await tempDir('cancel-exit-');
    const tracked = path.join(root, 'staging');
    const file = path.join(root, 'blob.partial');
    const released = path.join(root, 'done');
    await mkdir(path.join(tracked, 'deep'), {recursive: true});
    await writeFile(path.join(tracked, 'deep', 'x'), 'x');
    await writeFile(file, 'partial');
    await mkdir(released);
    const script = `
      const {installCancellation, trackTemporary, releaseTemporary} = await import(CANCEL);
      const before = ['exit', 'SIGINT', 'SIGTERM'].map(e => process.listenerCount(e));
      installCancellation();
      installCancellation();
      const after = ['exit', 'SIGINT', 'SIGTERM'].map(e => process.listenerCount(e));
      const [tracked, file, released] = process.argv.slice(1);
      trackTemporary(tracked);
      trackTemporary(file);
      trackTemporary(released);
      releaseTemporary(released);
      console.log(JSON.stringify(after.map((n, i) => n - before[i])));`;
    const {done} = nodeChild(script, [tracked, file, released]);
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim()) as number[], [1, 1, 1], 'one listener each for exit, SIGINT and SIGTERM');
    assert.equal(existsSync(tracked), false, 'a tracked folder is removed, contents and all');
    assert.equal(existsSync(file), false, 'a tracked file is removed');
    assert.equal(existsSync(released), true, 'a released path is left alone');
  });

  it('on SIGTERM (to a child process) aborts, stops a running program with everything it started, and throwIfCancelled throws', {timeout: 20_000}, async () => {
    const root = await tempDir('cancel-signal-');
    const work = path.join(root, 'work');
    const started = path.join(root, 'started');
    await mkdir(work);
    const script = `
      const {installCancellation, trackTemporary, throwIfCancelled} = await import(CANCEL);
      const {runProcess} = await import(PROCESS);
      installCancellation(10_000);
      const [work, started] = process.argv.slice(1);
      trackTemporary(work);
      const report = {};
      try {
        // sleep, a grandchild, holds the output pipe: the run only ends once it is stopped too.
        await runProcess('sh', ['-c', 'echo > "$1"; sleep 30; echo never', 'sh', started]);
        report.ran = 'to the end';
      } catch (error) {
        report.process = {name: error.name, message: error.message};
      }
      try {
        throwIfCancelled();
      } catch (error) {
        report.thrown = {name: error.name, message: error.message};
      }
      console.log(JSON.stringify(report));`;
    const begun = Date.now();
    const {child, done} = nodeChild(script, [work, started]);
    while (!existsSync(started)) {
      assert.ok(Date.now() - begun < 10_000, 'the program started');
      await sleep(20);
    }
    child.kill('SIGTERM');
    const result = await done;
    assert.ok(Date.now() - begun < 15_000, 'sleep 30 was stopped, not waited for');
    assert.match(result.stdout, /^Received SIGTERM: cancelling the run\.$/m);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '') as {ran?: string; process?: {name: string; message: string}; thrown?: {name: string; message: string}};
    assert.deepEqual(report, {
      process: {name: 'ProcessError', message: 'sh: stopped: the run was cancelled'},
      thrown: {name: 'CancelledError', message: 'The run was cancelled (SIGTERM)'}
    });
    assert.equal(existsSync(work), false, 'the temporaries went with the exit');
  });
});

describe('mapLimit', () => {
  it('keeps the input order whatever order the work finishes in, and passes the index', async () => {
    const delays = [30, 0, 20, 5, 10];
    const results = await mapLimit(delays, 2, async (ms, i) => {
      await sleep(ms);
      return `${i}:${ms}`;
    });
    assert.deepEqual(results, ['0:30', '1:0', '2:20', '3:5', '4:10']);
  });

  it('has at most `limit` calls in flight, and uses them all', async () => {
    let inFlight = 0;
    let most = 0;
    const calls: number[] = [];
    await mapLimit(
      Array.from({length: 12}, (_, i) => i),
      3,
      async i => {
        calls.push(i);
        most = Math.max(most, ++inFlight);
        await sleep(5 + (i % 3) * 5);
        inFlight--;
      }
    );
    assert.equal(most, 3);
    assert.deepEqual(
      calls.sort((a, b) => a - b),
      Array.from({length: 12}, (_, i) => i),
      'every item once'
    );
  });

  it('rejects with the error, starts nothing after it, and lets running work finish first', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const failure = new Error('item 1 failed');
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async i => {
        started.push(i);
        if (i === 1) {
          await sleep(5);
          throw failure;
        }
        await sleep(40);
        finished.push(i);
      }),
      error => error === failure
    );
    assert.deepEqual(started, [0, 1], 'no new item after the failure');
    assert.deepEqual(finished, [0], 'item 0, in flight when 1 failed, finished before the rejection');
  });

  it('calls nothing for no items, and treats a limit below 1 as 1', async () => {
    let calls = 0;
    assert.deepEqual(
      await mapLimit([], 4, async () => {
        calls++;
      }),
      []
    );
    assert.equal(calls, 0);
    assert.deepEqual(await mapLimit(['a', 'b'], 0, async s => s.toUpperCase()), ['A', 'B']);
  });

  it('coreCount is the machine’s available parallelism', () => {
    assert.equal(coreCount(), availableParallelism());
    assert.ok(Number.isInteger(coreCount()) && coreCount() >= 1);
  });
});

describe('hashing', () => {
  it('hashFile gives sha256, size and the first 16 bytes of a file read in many chunks', async () => {
    const dir = await tempDir('hash-');
    const file = path.join(dir, 'big');
    const bytes = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
    await writeFile(file, bytes);
    const result = await hashFile(file);
    assert.equal(result.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    assert.equal(result.size, bytes.length);
    assert.ok(result.head.equals(bytes.subarray(0, 16)));
    const abc = path.join(dir, 'abc');
    await writeFile(abc, 'abc');
    const small = await hashFile(abc);
    assert.deepEqual({digest: small.digest, size: small.size, head: small.head.toString()}, {digest: SHA256_ABC, size: 3, head: 'abc'});
  });

  it('hashFile handles an empty file and rejects for a missing one', async () => {
    const dir = await tempDir('hash-empty-');
    const empty = path.join(dir, 'empty');
    await writeFile(empty, '');
    const result = await hashFile(empty);
    assert.equal(result.digest, SHA256_EMPTY);
    assert.equal(result.size, 0);
    assert.equal(result.head.length, 0);
    await assert.rejects(hashFile(path.join(dir, 'missing')), {code: 'ENOENT'});
  });

  it('Digester passes the bytes through unchanged while counting and hashing them', async () => {
    const pieces = [Buffer.from('ab'), Buffer.alloc(70_000, 1), Buffer.from('c')];
    const digester = new Digester();
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(pieces),
      digester,
      new Writable({
        write(chunk: Buffer, _enc, callback) {
          out.push(chunk);
          callback();
        }
      })
    );
    const all = Buffer.concat(pieces);
    assert.ok(Buffer.concat(out).equals(all));
    assert.equal(digester.size, all.length);
    assert.equal(digester.digest(), `sha256:${createHash('sha256').update(all).digest('hex')}`);
    const empty = new Digester();
    await pipeline(Readable.from([]), empty, new Writable({write: (_c, _e, cb) => cb()}));
    assert.equal(empty.size, 0);
    assert.equal(empty.digest(), SHA256_EMPTY);
  });
});

describe('log', () => {
  it('logs plain text as it is', () => {
    for (const text of ['compiled 3 files', 'a::b is not a command', 'line 1\nline 2', ''])
      assert.equal(
        captureStdout(() => info(text)),
        `${text}\n`
      );
  });

  it('frames text that looks like a workflow command with ::stop-commands:: and a fresh token', () => {
    const tokens = new Set<string>();
    for (const text of ['::error::from a tool', '   ::set-output name=x::y', 'file.txt\n::add-mask::z\nmore', 'tool said ##[group]x', '\t::warning file=a::b']) {
      const lines = captureStdout(() => info(text)).split('\n');
      assert.equal(lines.pop(), '', 'ends with a newline');
      const start = /^::stop-commands::(.+)$/.exec(lines[0]);
      assert.ok(start, `framed: ${JSON.stringify(text)}`);
      const token = start[1];
      assert.match(token, UUID);
      assert.deepEqual(lines.slice(1), [...text.split('\n'), `::${token}::`], 'the text as it is, then the token that resumes commands');
      tokens.add(token);
    }
    assert.equal(tokens.size, 5, 'a new token every time');
  });

  it('looksLikeCommand knows command lines from other text', () => {
    for (const text of ['::error::x', '  ::debug::x', 'ok\n::group::x', 'x ##[error]y', 'ok\r\n::endgroup::']) assert.equal(looksLikeCommand(text), true, JSON.stringify(text));
    for (const text of ['plain', 'a ::b::', 'x:y::z', '#[error]', '## [group]', '']) assert.equal(looksLikeCommand(text), false, JSON.stringify(text));
  });
});

describe('secrets', () => {
  it('registerSecret masks the value in the log and holdsSecret then finds it inside any text', () => {
    const secret = 'tok-3f9a1c77e0';
    assert.equal(holdsSecret(`Bearer ${secret}`), false, 'not known yet');
    assert.equal(
      captureStdout(() => registerSecret(secret)),
      `::add-mask::${secret}\n`
    );
    assert.equal(holdsSecret(`Bearer ${secret}`), true);
    assert.equal(holdsSecret(secret), true);
    assert.equal(holdsSecret('tok-3f9a1c77e'), false, 'a part of it is not it');
  });

  it('ignores an empty value, and masks but does not match on values under 4 characters', () => {
    assert.equal(
      captureStdout(() => registerSecret('')),
      ''
    );
    assert.equal(holdsSecret(''), false);
    assert.equal(
      captureStdout(() => registerSecret('q7z')),
      '::add-mask::q7z\n'
    );
    assert.equal(holdsSecret('xq7zx'), false, 'too short to withhold text for');
  });
});

describe('childEnv', () => {
  it('withholds inputs, runner tokens and step files, whatever their case, and keeps the rest plus extra', () => {
    const base: NodeJS.ProcessEnv = {
      PATH: '/usr/bin',
      HOME: '/home/runner',
      INPUT_PASSWORD: 'hunter2hunter2',
      INPUT_REGISTRY: 'ghcr.io',
      input_lower: 'x',
      ACTIONS_RUNTIME_TOKEN: 't',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'u',
      ACTIONS_RUNTIME_URL: 'u',
      ACTIONS_RESULTS_URL: 'u',
      ACTIONS_CACHE_URL: 'u',
      GITHUB_OUTPUT: '/o',
      GITHUB_STATE: '/s',
      GITHUB_STEP_SUMMARY: '/m',
      registry_password: 'p',
      GITHUB_WORKSPACE: '/w',
      MY_INPUT_X: 'kept: INPUT_ only at the start',
      UNSET: undefined
    };
    assert.deepEqual(childEnv({GOOS: 'linux', HOME: '/tmp/home'}, base), {
      PATH: '/usr/bin',
      HOME: '/tmp/home',
      GITHUB_WORKSPACE: '/w',
      MY_INPUT_X: 'kept: INPUT_ only at the start',
      GOOS: 'linux'
    });
  });

  it('withholds any variable whose value holds a registered secret', () => {
    const secret = 's3cr3t-d1b0a7';
    captureStdout(() => registerSecret(secret));
    assert.deepEqual(childEnv({}, {DOCKER_AUTH: `{"auth":"${secret}"}`, URL: `https://u:${secret}@h`, OTHER: 'fine'}), {OTHER: 'fine'});
  });
});

describe('runProcess', () => {
  it('passes every argument as it is, with no shell in between', async () => {
    const args = ['two words', '$(touch /tmp/pwned)', 'a;b', '"quoted"', "it's", '*', '', '--flag=x y'];
    const result = await runProcess(process.execPath, ['-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...args], {env: childEnv({})});
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout) as string[], args);
  });

  it('gives a child, by default, the environment without inputs and runner tokens', async () => {
    const env = await withEnv({INPUT_PASSWORD: 'pw-value-1234', ACTIONS_RUNTIME_TOKEN: 'runtime-token', UTIL_TEST_KEPT: 'kept'}, async () => {
      const result = await runProcess(process.execPath, ['-e', 'console.log(JSON.stringify(process.env))']);
      assert.equal(result.exitCode, 0, result.stderr);
      return JSON.parse(result.stdout) as Record<string, string>;
    });
    assert.equal(env.UTIL_TEST_KEPT, 'kept');
    assert.equal(env.INPUT_PASSWORD, undefined);
    assert.equal(env.ACTIONS_RUNTIME_TOKEN, undefined);
  });

  it('reports the exit code and both streams, apart and in the order they came, in the working directory asked', async () => {
    const dir = await tempDir('proc-cwd-');
    const result = await runProcess('sh', ['-c', 'echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; pwd; exit 3'], {cwd: dir});
    assert.equal(result.exitCode, 3);
    const cwd = result.stdout.trim().split('\n').at(-1) ?? '';
    assert.equal(cwd, await realpath(dir));
    assert.equal(result.stdout, `one\nthree\n${cwd}\n`);
    assert.equal(result.stderr, 'two\n');
    assert.equal(result.output, `one\ntwo\nthree\n${cwd}\n`);
  });

  it('reports a program stopped by a signal as a shell does: 128 + its number, and which signal', async () => {
    const term = await runProcess('sh', ['-c', 'kill -TERM $$']);
    assert.deepEqual([term.exitCode, term.signal], [143, 'SIGTERM']);
    const kill = await runProcess('sh', ['-c', 'kill -KILL $$']);
    assert.deepEqual([kill.exitCode, kill.signal], [137, 'SIGKILL']);
    const exited = await runProcess('sh', ['-c', 'exit 143']);
    assert.deepEqual([exited.exitCode, exited.signal], [143, undefined]);
  });

  it('keeps a UTF-8 character whole when it arrives split across two reads', async () => {
    const script = 'process.stdout.write(Buffer.from([0xc3])); setTimeout(() => process.stdout.write(Buffer.from([0xa9, 0x0a])), 100);';
    const result = await runProcess(process.execPath, ['-e', script]);
    assert.equal(result.stdout, '\u00e9\n');
  });

  it('fails with a ProcessError, not a bare spawn error, for a file that cannot be executed', async () => {
    const file = path.join(await tempDir('proc-noexec-'), 'tool');
    await writeFile(file, '#!/bin/sh\necho hi\n', {mode: 0o644});
    await assert.rejects(runProcess(file, []), (error: unknown) => {
      assert.ok(error instanceof ProcessError);
      assert.equal(error.message, `${file}: cannot be started (EACCES)`);
      assert.equal(error.notFound, false);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'EACCES');
      return true;
    });
  });

  it('starts the program in a process group of its own', {skip: process.platform !== 'linux'}, async () => {
    const result = await runProcess('cat', ['/proc/self/stat']);
    assert.equal(result.exitCode, 0, result.stderr);
    // pid (comm) state ppid pgrp ...
    const [pid] = result.stdout.split(' ');
    const [, ppid, pgrp] = result.stdout.slice(result.stdout.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(ppid), process.pid, 'a child of this process');
    assert.equal(pgrp, pid, 'the leader of its own group');
  });

  it('fails with a ProcessError for a program that does not exist, and for a working directory that does not', async () => {
    const missing = 'no-such-program-7c1e';
    await assert.rejects(runProcess(missing, []), (error: unknown) => {
      assert.ok(error instanceof ProcessError);
      assert.equal(error.message, `${missing}: not found`);
      assert.equal(error.command, missing);
      assert.equal(error.notFound, true);
      assert.equal((error.cause as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
    const dir = path.join(await tempDir('proc-nocwd-'), 'gone');
    await assert.rejects(runProcess('sh', ['-c', 'true'], {cwd: dir}), (error: unknown) => {
      assert.ok(error instanceof ProcessError);
      assert.equal(error.message, `sh: cannot start in ${dir}, which does not exist`);
      assert.equal(error.notFound, false, 'the program is there; the folder is not');
      return true;
    });
  });
});

describe('ProcessError and lastLine', () => {
  it('ProcessError names the command, keeps a cause only when given one, and tells "not found" apart', () => {
    const cause = new Error('spawn ENOENT');
    const error = new ProcessError('skopeo', 'not found', cause, {notFound: true});
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'ProcessError');
    assert.equal(error.message, 'skopeo: not found');
    assert.equal(error.command, 'skopeo');
    assert.equal(error.cause, cause);
    assert.equal(error.notFound, true);
    const stopped = new ProcessError('go', 'stopped: the run was cancelled');
    assert.equal(stopped.notFound, false);
    assert.equal('cause' in stopped, false);
    assert.equal(new ProcessError('x', 'the tool said: not found here').notFound, false);
  });

  it('lastLine prefers the last line of stderr, falls back to stdout, trims and drops a final period', () => {
    const r = (stdout: string, stderr: string): ProcessResult => ({exitCode: 1, stdout, stderr});
    assert.equal(lastLine(r('out 1\nout 2\n', 'warning: x\n  error: it broke.  \n\n')), 'error: it broke');
    assert.equal(lastLine(r('step 1\r\nlast words.\r\n\n', '\n  \n')), 'last words');
    assert.equal(lastLine(r('', '')), '');
    assert.equal(lastLine(r('', 'version 1.2.3...')), 'version 1.2.3..', 'one period only');
    assert.equal(lastLine(r('', `${'x'.repeat(600)}\n`)), 'x'.repeat(500), 'at most 500 characters');
  });
});
