// `tabby crds`: the repository's crds/ and the Helm chart's crds/ hold exactly the generated CRDs (byte for byte),
// generate writes both folders and check reports every difference in either, naming the file.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CRD_HEADER, generateCrdFiles } from '../api/crd-gen.js';
import { validationTableMarkdown } from '../api/validation-table.js';
import {
  CHART_DIR,
  checkCrds,
  checkValidationDoc,
  crdDirs,
  formatCheck,
  VALIDATION_DOC,
  validationDoc,
  writeCrds,
  writeValidationDoc,
} from './crds-command.js';

const REPO = join(import.meta.dirname, '..', '..');
const generated = generateCrdFiles();

function folder(dir: string): Map<string, string> {
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );
}

describe('committed CRDs', () => {
  it.each([
    { name: 'crds/', dir: join(REPO, 'crds') },
    { name: 'charts/tabby/crds/', dir: join(REPO, CHART_DIR, 'crds') },
  ])('$name holds exactly the generated CRDs', async ({ dir }) => {
    expect(await checkCrds(dir)).toEqual({ stale: [], missing: [], extra: [] });
    expect([...folder(dir).keys()]).toEqual(generated.map((f) => f.fileName).sort());
  });

  it("the chart's crds/ is identical to crds/", () => {
    const chart = folder(join(REPO, CHART_DIR, 'crds'));
    const repo = folder(join(REPO, 'crds'));
    expect(chart.size).toBe(generated.length);
    expect(chart).toEqual(repo);
  });
});

describe('crds generate and check', () => {
  const temps: string[] = [];
  const temp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tabby-crds-test-'));
    temps.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes every kind and then checks clean', async () => {
    const dir = join(temp(), 'out');
    const written = await writeCrds(dir);
    expect(written).toEqual(generated.map((f) => f.fileName));
    expect(await checkCrds(dir)).toEqual({ stale: [], missing: [], extra: [] });
  });

  it('reports stale, missing and no-longer-generated files by name', async () => {
    const dir = temp();
    await writeCrds(dir);
    const [first, second] = generated;
    writeFileSync(join(dir, first!.fileName), `${first!.content}# edited by hand\n`);
    rmSync(join(dir, second!.fileName));
    writeFileSync(join(dir, 'projectcalico.org_gone.yaml'), `${CRD_HEADER}\nkind: CustomResourceDefinition\n`);
    writeFileSync(join(dir, 'kustomization.yaml'), 'resources: []\n');
    const r = await checkCrds(dir);
    expect(r).toEqual({
      stale: [first!.fileName],
      missing: [second!.fileName],
      extra: ['projectcalico.org_gone.yaml'],
    });
    expect(formatCheck('x', r)).toEqual([
      `stale: ${join('x', first!.fileName)}`,
      `missing: ${join('x', second!.fileName)}`,
      `no longer generated: ${join('x', 'projectcalico.org_gone.yaml')}`,
    ]);
  });

  it('reports every file missing for a folder that does not exist', async () => {
    const r = await checkCrds(join(temp(), 'nothing-here'));
    expect(r.missing).toEqual(generated.map((f) => f.fileName));
  });
});

describe('crdDirs', () => {
  const withChart = mkdtempSync(join(tmpdir(), 'tabby-crds-cwd-'));
  mkdirSync(join(withChart, CHART_DIR), { recursive: true });
  writeFileSync(join(withChart, CHART_DIR, 'Chart.yaml'), 'name: tabby\n');
  const withoutChart = mkdtempSync(join(tmpdir(), 'tabby-crds-cwd-'));
  afterAll(() => {
    for (const d of [withChart, withoutChart]) rmSync(d, { recursive: true, force: true });
  });

  it.each([
    { name: 'chart present: its crds/ too', chart: undefined, cwd: withChart, want: ['crds', join(CHART_DIR, 'crds')] },
    { name: 'no chart here: only the folder given', chart: undefined, cwd: withoutChart, want: ['crds'] },
    { name: '--no-chart-crds', chart: false, cwd: withChart, want: ['crds'] },
    { name: '--chart-crds DIR', chart: 'elsewhere/crds', cwd: withoutChart, want: ['crds', 'elsewhere/crds'] },
    { name: 'the same folder twice is one', chart: './crds', cwd: withChart, want: ['crds'] },
  ])('$name', ({ chart, cwd, want }) => {
    expect(crdDirs('crds', chart, cwd)).toEqual(want);
  });
});

describe('the validation table (docs/validation.md)', () => {
  const temps: string[] = [];
  afterAll(() => {
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it('the committed table is what the schemas generate', async () => {
    expect(await checkValidationDoc(join(REPO, VALIDATION_DOC))).toEqual([]);
  });

  it('is written, then checks clean; an edit or a missing file is reported by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabby-docs-test-'));
    temps.push(dir);
    const file = join(dir, 'validation.md');
    expect(await checkValidationDoc(file)).toEqual([`missing: ${file}`]);
    await writeValidationDoc(file);
    expect(readFileSync(file, 'utf8')).toBe(validationTableMarkdown());
    expect(await checkValidationDoc(file)).toEqual([]);
    writeFileSync(file, `${validationTableMarkdown()}edited by hand\n`);
    expect(await checkValidationDoc(file)).toEqual([`stale: ${file}`]);
  });

  it('defaults to docs/validation.md where docs/ exists; --docs FILE and --no-docs', () => {
    const withDocs = mkdtempSync(join(tmpdir(), 'tabby-docs-cwd-'));
    const without = mkdtempSync(join(tmpdir(), 'tabby-docs-cwd-'));
    temps.push(withDocs, without);
    mkdirSync(join(withDocs, 'docs'));
    expect(validationDoc(undefined, withDocs)).toBe(VALIDATION_DOC);
    expect(validationDoc(undefined, without)).toBeUndefined();
    expect(validationDoc(false, withDocs)).toBeUndefined();
    expect(validationDoc('elsewhere.md', without)).toBe('elsewhere.md');
  });
});
