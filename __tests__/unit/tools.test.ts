import assert from 'node:assert/strict';
import {mkdir, mkdtemp, readFile, readlink, writeFile} from 'node:fs/promises';
import semver from 'semver';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {Readable} from 'node:stream';
import {describe, it} from 'node:test';
import {pack} from 'tar-stream';
import http from 'node:http';
import type {AddressInfo} from 'node:net';
import {publishedSha256, releaseAsset} from '../../src/tools/assets.js';
import {resolveToolVersion} from '../../src/tools/resolve.js';
import {toolCacheName} from '../../src/tools/install.js';
import {parseToolRequests} from '../../src/tools/request.js';
import {DEFAULT_VERSIONS, KNOWN_RELEASES, TOOL_NAMES} from '../../src/tools/versions.js';
import {extractArchive, isLayoutEntry} from '../../src/util/archive.js';
import {installTools, toolsOutput} from '../../src/tools/tools.js';
import {versionFromFile} from '../../src/tools/version-file.js';
import {releaseAssets, serveAll, startReleaseServer} from '../helpers/releases.js';

describe('tool requests', () => {
  it('take pinned defaults and exact versions', () => {
    assert.deepEqual(parseToolRequests(['pack', 'jam@2.17.3', 'buildx@v0.27.0']), [
      {name: 'pack', version: DEFAULT_VERSIONS.pack},
      {name: 'jam', version: '2.17.3'},
      {name: 'buildx', version: '0.27.0'}
    ]);
  });
  it('refuse unknown tools, inexact versions and repeats', () => {
    assert.throws(() => parseToolRequests(['crane']), /Input "tools" lists "crane", which is not one of pack, jam, buildx/);
    assert.throws(() => parseToolRequests(['pack@banana']), new RegExp(`pack@banana, which is neither an exact version nor a semver range; write pack@${DEFAULT_VERSIONS.pack.replace(/\./g, '\\.')}`));
    assert.deepEqual(parseToolRequests(['pack@0.38', 'jam@latest']), [
      {name: 'pack', version: '0.38'},
      {name: 'jam', version: 'latest'}
    ]);
    assert.throws(() => parseToolRequests(['pack', 'pack@0.38.1']), /lists pack twice/);
  });
  it("read versions from the pinning files repositories keep: .pack-version, .tool-versions, Paketo's tools.json", async () => {
    const workspace = await mkdtemp(path.join(tmpdir(), 'tool-files-'));
    await mkdir(path.join(workspace, 'scripts', '.util'), {recursive: true});
    await writeFile(path.join(workspace, '.pack-version'), '# pinned by renovate\n\nv0.40.8  # the one Paketo uses\n');
    await writeFile(path.join(workspace, '.tool-versions'), 'golang 1.25.1\npack 0.40.6 # asdf\n');
    await writeFile(path.join(workspace, 'scripts', '.util', 'tools.json'), JSON.stringify({createpackage: 'v1.73.0', jam: 'v2.18.0', pack: 'v0.40.8'}, null, 2));
    assert.deepEqual(parseToolRequests(['pack@file:.pack-version'], workspace), [{name: 'pack', version: '0.40.8'}]);
    assert.deepEqual(parseToolRequests(['pack@file:.tool-versions'], workspace), [{name: 'pack', version: '0.40.6'}]);
    assert.deepEqual(parseToolRequests(['jam@file:scripts/.util/tools.json', 'pack@file:scripts/.util/tools.json'], workspace), [
      {name: 'jam', version: '2.18.0'},
      {name: 'pack', version: '0.40.8'}
    ]);
    assert.throws(() => parseToolRequests(['buildx@file:scripts/.util/tools.json'], workspace), /tools\.json names no buildx version/);
    assert.throws(() => parseToolRequests(['jam@file:.tool-versions'], workspace), /\.tool-versions names no jam version/);
    assert.throws(() => parseToolRequests(['pack@file:missing'], workspace), /asks for pack@file:missing, but .*missing does not exist; give a path relative to the workspace/);
    await writeFile(path.join(workspace, '.pack-version'), 'banana\n');
    assert.throws(() => parseToolRequests(['pack@file:.pack-version'], workspace), /asks for pack@file:\.pack-version \(banana\), which is neither/);
  });
});

describe('tool defaults', () => {
  it('are no older than the newest releases recorded in KNOWN_RELEASES, each with its source', () => {
    assert.deepEqual(Object.keys(KNOWN_RELEASES).sort(), [...TOOL_NAMES].sort());
    for (const name of TOOL_NAMES) {
      const known = KNOWN_RELEASES[name];
      assert.ok(semver.valid(DEFAULT_VERSIONS[name]), `${name} default ${DEFAULT_VERSIONS[name]} is an exact version`);
      assert.ok(semver.gte(DEFAULT_VERSIONS[name], known.version), `${name} defaults to ${DEFAULT_VERSIONS[name]}, older than ${known.version} (${known.source})`);
      assert.ok(known.source.length > 10 && known.released.length >= 7, `${name} records where and when ${known.version} was seen`);
    }
  });
});

describe('release assets', () => {
  const linux = {platform: 'linux' as const, arch: 'x64'};
  it('name pack assets per OS and architecture, with a .sha256 beside each', () => {
    const cases: [NodeJS.Platform, string, string][] = [
      ['linux', 'x64', 'pack-v0.38.2-linux.tgz'],
      ['linux', 'arm64', 'pack-v0.38.2-linux-arm64.tgz'],
      ['darwin', 'x64', 'pack-v0.38.2-macos.tgz'],
      ['darwin', 'arm64', 'pack-v0.38.2-macos-arm64.tgz'],
      ['win32', 'x64', 'pack-v0.38.2-windows.zip']
    ];
    for (const [platform, arch, asset] of cases) {
      const a = releaseAsset('pack', '0.38.2', {platform, arch});
      assert.equal(a.asset, asset);
      assert.equal(a.url, `https://github.com/buildpacks/pack/releases/download/v0.38.2/${asset}`);
      assert.deepEqual(a.checksum, {kind: 'file', url: `${a.url}.sha256`});
    }
  });
  it('name jam and buildx assets; buildx has checksums.txt, jam none', () => {
    const jam = releaseAsset('jam', '2.17.3', {platform: 'linux', arch: 'arm64'});
    assert.equal(jam.url, 'https://github.com/paketo-buildpacks/jam/releases/download/v2.17.3/jam-linux-arm64');
    assert.deepEqual(jam.checksum, {kind: 'none'});
    const buildx = releaseAsset('buildx', '0.27.0', linux, 'https://mirror.example.com/gh/');
    assert.equal(buildx.url, 'https://mirror.example.com/gh/docker/buildx/releases/download/v0.27.0/buildx-v0.27.0.linux-amd64');
    assert.deepEqual(buildx.checksum, {kind: 'list', url: 'https://mirror.example.com/gh/docker/buildx/releases/download/v0.27.0/checksums.txt'});
    assert.equal(buildx.executable, 'docker-buildx');
    assert.throws(() => releaseAsset('pack', '0.38.2', {platform: 'linux', arch: 's390x'}), /cannot be installed on s390x runners/);
  });
  it('read published checksums in each format', () => {
    const hex = 'ab'.repeat(32);
    assert.equal(publishedSha256(`${hex}\n`, 'anything'), hex);
    assert.equal(publishedSha256(`${hex}  pack-v1-linux.tgz\n`, 'pack-v1-linux.tgz'), hex);
    const list = `${'cd'.repeat(32)} *buildx-v0.27.0.darwin-arm64\n${hex} *buildx-v0.27.0.linux-amd64\n`;
    assert.equal(publishedSha256(list, 'buildx-v0.27.0.linux-amd64'), hex);
    assert.equal(publishedSha256(list, 'buildx-v0.27.0.linux-arm64'), undefined);
  });
  it('keep mirror installs under their own tool-cache name', () => {
    assert.equal(toolCacheName('pack', undefined), 'pack');
    assert.equal(toolCacheName('pack', 'https://github.com/'), 'pack');
    assert.match(toolCacheName('pack', 'https://mirror.example.com'), /^pack-mirror-[a-f0-9]{12}$/);
    assert.notEqual(toolCacheName('pack', 'https://a.example.com'), toolCacheName('pack', 'https://b.example.com'));
  });
});

describe('archive extraction', () => {
  async function tarOf(entries: {name: string; type?: 'file' | 'symlink' | 'directory' | 'link'; linkname?: string; body?: string}[]): Promise<Readable> {
    const p = pack();
    for (const e of entries) p.entry({name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o4755}, e.body ?? '');
    p.finalize();
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Readable.from([Buffer.concat(chunks)]);
  }
  it('accepts pack-style leading slashes and keeps in-tree symlinks, dropping setuid bits', async () => {
    const dest = await mkdtemp(path.join(tmpdir(), 'extract-'));
    await extractArchive(
      await tarOf([
        {name: '/index.json', body: '{}'},
        {name: './bin/run', body: 'x'},
        {name: 'bin/detect', type: 'symlink', linkname: 'run'}
      ]),
      dest,
      {archive: 'a.cnb', leadingSlashAllowed: isLayoutEntry}
    );
    assert.equal(await readFile(path.join(dest, 'index.json'), 'utf8'), '{}');
    assert.equal(await readlink(path.join(dest, 'bin', 'detect')), 'run');
    const {mode} = await (await import('node:fs/promises')).stat(path.join(dest, 'bin', 'run'));
    assert.equal(mode & 0o7777, 0o755);
  });
  for (const [label, entries, message] of [
    ['a .. entry', [{name: '../../etc/evil', body: 'x'}], /a\.cnb holds the entry "\.\.\/\.\.\/etc\/evil", which climbs out of the archive/],
    ['a nested .. entry', [{name: 'blobs/../../evil', body: 'x'}], /climbs out of the archive/],
    ['an escaping symlink', [{name: 'bin/x', type: 'symlink', linkname: '../../../etc/passwd'}], /holds the symlink "bin\/x" -> "\.\.\/\.\.\/\.\.\/etc\/passwd", which points outside/],
    ['an absolute symlink', [{name: 'x', type: 'symlink', linkname: '/etc/passwd'}], /points outside/],
    ['a hard link out of the tree', [{name: 'x', type: 'link', linkname: '/etc/passwd'}], /a\.cnb \(the hard link "x"\) holds the absolute entry "\/etc\/passwd"/],
    ['a hard link climbing out', [{name: 'x', type: 'link', linkname: '../../etc/passwd'}], /the hard link "x"\) holds the entry "\.\.\/\.\.\/etc\/passwd", which climbs out/],
    ['a device', [{name: 'tty', type: 'character-device' as 'file'}], /holds "tty" of type CharacterDevice, which a buildpack archive never needs/],
    [
      'a chain of symlinks leading out',
      [
        {name: 'a', type: 'symlink', linkname: '.'},
        {name: 'a/b', type: 'symlink', linkname: '..'},
        {name: 'a/b/c', type: 'symlink', linkname: '..'},
        {name: 'a/b/c/etc/evil', body: 'x'}
      ],
      /a\.cnb holds "a\/b", which would be written through the symlink "a" it made earlier; refusing to extract it/
    ],
    ['an absolute entry outside the layout, even in a .cnb', [{name: '/etc/cron.d/evil', body: 'x'}], /a\.cnb holds the absolute entry "\/etc\/cron\.d\/evil"; refusing/]
  ] as const) {
    it(`refuses ${label}`, async () => {
      const dest = await mkdtemp(path.join(tmpdir(), 'extract-'));
      await assert.rejects(extractArchive(await tarOf([...entries]), path.join(dest, 'inner'), {archive: 'a.cnb', leadingSlashAllowed: isLayoutEntry}), message);
      await assert.rejects(readFile(path.join(dest, 'etc', 'evil')));
      await assert.rejects(readFile(path.join(path.dirname(dest), 'etc', 'evil')));
    });
  }
  it('keeps hard links inside the tree as links', async () => {
    const dest = await mkdtemp(path.join(tmpdir(), 'extract-'));
    await extractArchive(
      await tarOf([
        {name: 'bin/run', body: 'x'},
        {name: 'bin/build', type: 'link', linkname: 'bin/run'}
      ]),
      dest,
      {archive: 'layer'}
    );
    const {stat} = await import('node:fs/promises');
    assert.equal((await stat(path.join(dest, 'bin', 'build'))).ino, (await stat(path.join(dest, 'bin', 'run'))).ino);
  });
});

describe('version resolution', () => {
  it('resolves ranges and latest to the newest stable release through the releases API, exact versions without a request', async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(`${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(200, {'Content-Type': 'application/json'});
      res.end(JSON.stringify([{tag_name: 'v0.39.0-rc1', prerelease: true}, {tag_name: 'v0.40.0', draft: true}, {tag_name: 'v0.38.2'}, {tag_name: 'v0.38.1'}, {tag_name: 'v0.37.0'}, {tag_name: 'nightly'}]));
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    const env = {GITHUB_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, GITHUB_TOKEN: 'gh-token'};
    try {
      assert.deepEqual(await resolveToolVersion({name: 'pack', version: '0.38'}, undefined, env), {name: 'pack', version: '0.38.2'});
      assert.deepEqual(await resolveToolVersion({name: 'pack', version: 'latest'}, undefined, env), {name: 'pack', version: '0.38.2'});
      assert.deepEqual(await resolveToolVersion({name: 'pack', version: '~0.37.0'}, undefined, env), {name: 'pack', version: '0.37.0'});
      assert.deepEqual(requests, Array(3).fill('/repos/buildpacks/pack/releases?per_page=100 Bearer gh-token'));
      await assert.rejects(resolveToolVersion({name: 'pack', version: '9'}, undefined, env), /No stable release of pack matches 9 \(newest: 0\.38\.2\)/);
      requests.length = 0;
      assert.deepEqual(await resolveToolVersion({name: 'jam', version: '2.17.3'}, undefined, env), {name: 'jam', version: '2.17.3'});
      assert.deepEqual(requests, [], 'no request for an exact version');
      await assert.rejects(resolveToolVersion({name: 'pack', version: '0.38'}, 'https://mirror.example.com', env), /with tools-download-base-url set no host but the mirror is contacted/);
      assert.deepEqual(requests, [], 'no request with a mirror');
    } finally {
      server.close();
    }
  });
});

describe('version files', () => {
  it('read the version where the repository pins it, relative to the workspace', async () => {
    const workspace = await mkdtemp(path.join(tmpdir(), 'version-file-'));
    await writeFile(path.join(workspace, '.jam-version'), '\n# pinned\nv2.18.0 # Paketo\n');
    await writeFile(path.join(workspace, 'tools.json'), '{"pack": 7}');
    assert.equal(versionFromFile('jam', '.jam-version', workspace), '2.18.0');
    assert.throws(() => versionFromFile('pack', 'tools.json', workspace), /tools\.json names no pack version/);
    await writeFile(path.join(workspace, 'broken.json'), '{');
    assert.throws(() => versionFromFile('pack', 'broken.json', workspace), /is not JSON/);
  });
});

describe('installing tools', () => {
  it('installs from a mirror into the tool cache, verified, and reports name, version and path', async () => {
    const server = await startReleaseServer();
    const runnerTemp = await mkdtemp(path.join(tmpdir(), 'install-tools-'));
    const saved = {RUNNER_TOOL_CACHE: process.env.RUNNER_TOOL_CACHE, RUNNER_TEMP: process.env.RUNNER_TEMP, DOCKER_CONFIG: process.env.DOCKER_CONFIG};
    Object.assign(process.env, {RUNNER_TOOL_CACHE: path.join(runnerTemp, 'toolcache'), RUNNER_TEMP: runnerTemp, DOCKER_CONFIG: path.join(runnerTemp, 'docker')});
    try {
      serveAll(server, releaseAssets({...DEFAULT_VERSIONS}));
      const installed = await installTools([{name: 'buildx', version: DEFAULT_VERSIONS.buildx}], {mirror: server.url, useActionsCache: false, saveToActionsCache: false, env: {}});
      const output = toolsOutput(installed);
      assert.deepEqual(Object.keys(output), ['buildx']);
      assert.equal(output.buildx.version, DEFAULT_VERSIONS.buildx);
      assert.ok(output.buildx.path.startsWith(path.join(runnerTemp, 'toolcache')), output.buildx.path);
      assert.deepEqual(
        server.requests.map(r => r.status),
        [200, 200]
      );
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await server.stop();
    }
  });
});
