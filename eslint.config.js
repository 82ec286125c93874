// Lint rules that carry architecture: imports only point down the layer table in docs/architecture.md, and the
// pure layers (net, api, ipam, plan) do no I/O and read no clock, randomness or environment.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layers = {
  net: [],
  api: ['net'],
  ipam: ['api', 'net'],
  plan: ['api', 'net', 'ipam'],
  log: [],
  devcluster: ['log'],
  observe: ['log', 'kube'],
  kube: ['api', 'net', 'log', 'ipam'],
  cni: ['api', 'net', 'log'],
  agent: ['api', 'net', 'kube', 'log', 'ipam', 'plan', 'observe', 'cni'],
  operator: ['api', 'net', 'ipam', 'plan', 'kube', 'log', 'observe'],
  webhook: ['api', 'net', 'log'],
  cli: null,
};
const all = Object.keys(layers);
const pure = ['net', 'api', 'ipam', 'plan'];

// Test support (fakes, builders, fixtures, arbitraries) lives in `test-support/` and `testdata/` folders and in
// ipam's `test-fixtures.ts`; tests, benchmarks and e2e use it, production code under src/ never does.
const testSupport = ['src/**/test-support/**', 'src/**/testdata/**', 'src/ipam/test-fixtures.ts'];
const testSupportImports = {
  group: ['**/test-support', '**/test-support/*', '**/testdata', '**/testdata/*', '**/test-fixtures.js'],
  message: 'production code may not import test support (test-support/, testdata/, test-fixtures.ts)',
};

const layerRules = Object.entries(layers).flatMap(([layer, allowed]) => {
  const forbidden = allowed === null ? [] : all.filter((l) => l !== layer && !allowed.includes(l));
  const patterns = forbidden.map((l) => ({
    group: [`../${l}`, `../${l}/*`, `../../${l}`, `../../${l}/*`],
    message: `layer '${layer}' may not import '${l}' (see docs/architecture.md, Layers)`,
  }));
  if (layer !== 'kube') {
    // Only src/kube wraps @kubernetes/client-node (docs/architecture.md); everything else goes through it.
    patterns.push({ group: ['@kubernetes/client-node'], message: 'only src/kube imports @kubernetes/client-node' });
  }
  if (pure.includes(layer)) {
    patterns.push({
      group: [
        'node:fs',
        'node:fs/*',
        'node:child_process',
        'node:net',
        'node:http',
        'node:https',
        'node:os',
        'node:dgram',
        'fs',
        'child_process',
        '@kubernetes/client-node',
        'pino',
        'testcontainers',
      ],
      message: `layer '${layer}' is pure: no I/O (docs/architecture.md)`,
    });
  }
  return [
    {
      files: [`src/${layer}/**/*.ts`],
      ignores: ['src/**/*.test.ts', ...testSupport],
      rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, testSupportImports] }] },
    },
    {
      // Test support itself keeps to the layer table, and may use other test support.
      files: testSupport
        .map((g) => g.replace('src/**/', `src/${layer}/**/`))
        .filter((g) => g.startsWith(`src/${layer}/`)),
      ignores: ['src/**/*.test.ts'],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    },
  ];
});

const pureSyntax = {
  files: pure.map((l) => `src/${l}/**/*.ts`),
  ignores: ['src/**/*.test.ts'],
  rules: {
    'no-restricted-properties': [
      'error',
      { object: 'Date', property: 'now', message: 'pure layers take time as an argument' },
      { object: 'Math', property: 'random', message: 'pure layers take randomness as an argument' },
      { object: 'process', property: 'env', message: 'pure layers take configuration as an argument' },
    ],
    'no-restricted-syntax': [
      'error',
      {
        selector: "NewExpression[callee.name='Date'][arguments.length=0]",
        message: 'pure layers take time as an argument',
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'crds/**', 'charts/**', 'coverage/**', 'bin/**', '.tabby/**', '.tmp-*/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
    },
  },
  ...layerRules,
  pureSyntax,
);
