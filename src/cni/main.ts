// Entry point of the CNI plugin process (bin/tabby-cni runs `node dist/cni/main.js`): one execution per pod
// operation. Reads stdin and the CNI_* environment, runs the verb, prints the result or the error JSON, exits.
// Kept to the plugin's own modules: every import here is paid for by each ADD's start-up time.
import { readFileSync } from 'node:fs';
import { workloadInterfaceName } from '../net/naming.js';
import { createAgentClient } from './agent-client.js';
import { CniCode, CniError, errorJson } from './errors.js';
import { createLinuxDataplane } from './linux-dataplane.js';
import { runPlugin } from './plugin.js';
import { createPluginLog } from './plugin-log.js';
import { LATEST_VERSION } from './version.js';

async function readStdin(): Promise<string> {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // No stdin at all reads as empty: VERSION needs none, and the other verbs then say that the config is missing.
    if (code === 'EBADF' || code === 'ENXIO') return '';
    if (code !== 'EAGAIN') throw e;
  }
  // A non-blocking pipe: read it as a stream instead.
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return text;
}

async function main(): Promise<{ stdout: string; exitCode: number }> {
  let stdin: string;
  try {
    stdin = await readStdin();
  } catch (e) {
    const err = new CniError(
      CniCode.IOFailure,
      'failed to read the network configuration from stdin',
      (e as Error).message,
    );
    return { stdout: `${JSON.stringify(errorJson(err, LATEST_VERSION))}\n`, exitCode: 1 };
  }
  return runPlugin({
    env: process.env,
    stdin,
    dataplane: createLinuxDataplane(),
    agent: createAgentClient,
    workloadInterfaceName,
    log: createPluginLog(),
    now: () => performance.now(),
  });
}

const outcome = await main();
process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;
