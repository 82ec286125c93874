// Reads the confd golden tests Tabby compares its BIRD output with (src/agent/bird/testdata/confd-cases.ts) out of a
// Calico checkout and writes src/agent/bird/testdata/confd-goldens.json: each case's input files verbatim, and each
// golden's six files (bird.cfg, bird_aggr.cfg, bird_ipam.cfg and their IPv6 twins) reduced to the comparable model of
// testdata/bird-model.ts. Run by hand when the Calico version the tests follow changes:
//   npx tsx scripts/confd-goldens.ts <calico git dir> [commit]
// (the git dir of a clone of github.com/projectcalico/calico; the commit defaults to HEAD).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { CONFD_CASES } from '../src/agent/bird/testdata/confd-cases.js';
import { modelFromConfd } from '../src/agent/bird/testdata/bird-model.js';

const [repo, rev = 'HEAD'] = process.argv.slice(2);
if (repo === undefined) {
  process.stderr.write('usage: tsx scripts/confd-goldens.ts <calico git dir> [commit]\n');
  process.exit(2);
}
const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
const commit = git('rev-parse', rev).trim();
const show = (path: string) => git('show', `${commit}:confd/tests/${path}`);

const inputs: Record<string, string> = {};
const goldens: Record<string, unknown> = {};
for (const c of CONFD_CASES) {
  for (const p of c.inputs) inputs[p] ??= show(`mock_data/calicoctl/${p}`);
  const dir = `compiled_templates/${c.golden}`;
  goldens[c.golden] = {
    v4: modelFromConfd(show(`${dir}/bird.cfg`), show(`${dir}/bird_aggr.cfg`), show(`${dir}/bird_ipam.cfg`)),
    v6: modelFromConfd(show(`${dir}/bird6.cfg`), show(`${dir}/bird6_aggr.cfg`), show(`${dir}/bird6_ipam.cfg`)),
  };
}
const out = {
  source: `https://github.com/projectcalico/calico ${commit} confd/tests/ (Apache License 2.0)`,
  inputs,
  goldens,
};
writeFileSync('src/agent/bird/testdata/confd-goldens.json', `${JSON.stringify(out, null, 1)}\n`);
process.stdout.write(`wrote ${CONFD_CASES.length} goldens, ${Object.keys(inputs).length} input files\n`);
