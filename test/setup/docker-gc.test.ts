// The storage collection's rules, on image graphs as `docker image ls -a`
// gives them: it takes what the tests' builds replaced and nothing anyone
// else (or this run) still needs. test/containers/engine.test.ts runs it on
// a real engine and checks that no earlier build is left.

import t from 'tap';
// @ts-expect-error: a plain .mjs module (install.sh runs it before npm ci)
import { imageGarbage, madeByTests, TEST_LABEL } from './docker-gc.mjs';

interface Node {
  id: string;
  parent: string;
  tags: string[];
  context: string;
}
const img = (id: string, parent = '', tags: string[] = [], context = ''): Node => ({ id: `sha256:${id}`, parent: parent === '' ? '' : `sha256:${parent}`, tags, context });
const CURRENT = new Set(['erlmcp-standin/nodejs:k1', 'erlmcp-standin/node-build:k1', 'erlmcp-standin/node-build:k1-ca-0123456789ab']);
const gc = (nodes: Node[], current: Set<string> | null = CURRENT): { untag: string[]; remove: string[] } => imageGarbage(nodes, current ?? undefined);
/** in the order given: the collection removes each image before its parent */
const ids = (...xs: string[]): string[] => xs.map((x) => `sha256:${x}`);

const BASES = [
  img('nodejs', '', ['erlmcp-standin/nodejs:k1']),
  img('nodebuild', '', ['erlmcp-standin/node-build:k1']),
  img('nodebuildca', 'nodebuild', ['erlmcp-standin/node-build:k1-ca-0123456789ab']),
];

t.test('what this run built and tagged stays', async (t) => {
  const nodes = [
    ...BASES,
    img('b1', 'nodebuildca'), img('b2', 'b1', ['erlmcp-secrets:test-stage-build']),
    img('r1', 'nodejs'), img('r2', 'r1', ['erlmcp-secrets:test-runtime'], 'ctx-new'),
  ];
  t.same(gc(nodes), { untag: [], remove: [] });
});

t.test('a replaced image and its untagged chain go, down to what is shared', async (t) => {
  const nodes = [
    ...BASES,
    img('r1', 'nodejs'), img('r2', 'r1', ['erlmcp-secrets:test-runtime'], 'ctx-new'),
    // the previous build: untagged by the new one, its leaf carries the context label
    img('o1', 'nodejs'), img('o2', 'o1', [], 'ctx-old'),
    // a build stage of an earlier run with no tag to keep it: built on a stand-in
    img('s1', 'nodebuildca'), img('s2', 's1'), img('s3', 's2'),
  ];
  // deepest first, each alone (rmi --no-prune): nothing outside these goes with them
  t.same(gc(nodes), { untag: [], remove: ids('s3', 's2', 'o2', 's1', 'o1') });
});

t.test('an older stand-in recipe, or an older CA bundle: its tags go, then whatever hung only on it', async (t) => {
  const nodes = [
    ...BASES,
    img('oldca', 'nodebuild', ['erlmcp-standin/node-build:k1-ca-ffffffffffff']),
    img('oldnode', '', ['erlmcp-standin/nodejs:k0']),
    img('oldcc', '', ['erlmcp-standin/cc:k0', 'erlmcp-standin/cc:k0-extra']),
    img('x1', 'oldnode'), img('x2', 'x1', [], 'ctx-old'),
  ];
  const r = gc(nodes);
  t.same(r.untag, ['erlmcp-standin/cc:k0', 'erlmcp-standin/cc:k0-extra', 'erlmcp-standin/node-build:k1-ca-ffffffffffff', 'erlmcp-standin/nodejs:k0']);
  t.same(r.remove, ids('x2', 'oldca', 'x1', 'oldcc', 'oldnode'), 'children first; the current node-build base stays');
  t.same(gc(nodes, null), { untag: [], remove: ids('x2', 'x1') }, 'without the current tags no stand-in tag is stale');
});

t.test('anything another tag still needs stays, ours or not', async (t) => {
  const nodes = [
    ...BASES,
    img('oldnode', '', ['erlmcp-standin/nodejs:k0']),
    // someone built their own image on a stand-in, an old one even
    img('m1', 'oldnode', ['myapp:1']),
    img('m2', 'nodejs'), img('m3', 'm2', ['myapp:2']),
    // and a dangling image of their own
    img('d1', '', []), img('d2', 'd1', []),
  ];
  const r = gc(nodes);
  t.same(r.untag, ['erlmcp-standin/nodejs:k0'], 'the stale tag goes; the image stays under myapp:1');
  t.same(r.remove, [], 'nothing of theirs, and no parent of a tagged image');
});

t.test('a parent missing from the list (pulled away meanwhile) is no crash', async (t) => {
  t.same(gc([img('o2', 'gone', [], 'ctx-old')]), { untag: [], remove: ids('o2') });
});

t.test('the tags users give the image are not the tests\' own', async (t) => {
  const nodes = [
    img('base', '', ['gcr.io/distroless/nodejs24-debian12:nonroot']),
    img('e1', 'base', ['erlmcp-secrets:latest', 'erlmcp-secrets:dev', 'erlmcp-secrets:binary']),
    img('o1', 'e1'), img('o2', 'o1'),
  ];
  t.same(gc(nodes), { untag: [], remove: [] }, 'an image built on a user tag of ours is theirs');
});

t.test('containers and volumes: only what the tests labelled, or a compose project of theirs run from their temp folder', async (t) => {
  const compose = (project: string, dir: string): Record<string, string> => ({ 'com.docker.compose.project': project, 'com.docker.compose.project.working_dir': dir });
  const cases: Array<[Record<string, string> | null, boolean, string]> = [
    [{ [TEST_LABEL]: '1' }, true, 'labelled by the engine helper'],
    [{ [TEST_LABEL]: '1', other: 'x' }, true, 'with other labels too'],
    [compose('erlmcp-test-file-777', '/tmp/erlmcp-compose-file-AbC123/examples/compose'), true, 'a compose stack of the engine test'],
    [compose('erlmcp-test-file-777', '/home/me/erlmcp-secrets/examples/compose'), false, 'the same project name run from elsewhere'],
    [compose('erlmcp-prod', '/tmp/erlmcp-compose-x/examples/compose'), false, 'another project in a folder of that name'],
    [{ 'org.erlmcp-secrets.test.context': 'abc' }, false, 'the image label on a container is no mark of ours'],
    [{}, false, 'no labels'],
    [null, false, 'labels null, as inspect gives them'],
  ];
  for (const [labels, ours, why] of cases) t.equal(madeByTests(labels), ours, why);
});

t.test('the engine helper labels what the tests make, and only that', async (t) => {
  const { labelled } = await import('../helpers/docker-engine.ts');
  const label = ['--label', `${TEST_LABEL}=1`];
  t.same(labelled(['run', '--rm', 'img', 'x']), ['run', ...label, '--rm', 'img', 'x']);
  t.same(labelled(['create', '--name', 'n', 'img']), ['create', ...label, '--name', 'n', 'img']);
  t.same(labelled(['volume', 'create', 'v']), ['volume', 'create', ...label, 'v']);
  t.same(labelled(['container', 'create', 'img']), ['container', 'create', ...label, 'img']);
  for (const args of [['build', '-t', 'x', '.'], ['exec', 'c', 'run'], ['image', 'inspect', 'run'], ['rm', '-f', 'create']]) t.same(labelled(args), args, args.join(' '));
});
