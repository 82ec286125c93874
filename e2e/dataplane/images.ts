// Builds the node image from the working tree (e2e/images/build-node-image.sh) and returns its exact tag. Tests use
// that tag, never a moving `:dev` tag, so two runs building from different trees cannot swap images under each other.
import { execFileSync } from 'node:child_process';

export function buildNodeImage(): string {
  const tag = execFileSync('bash', ['e2e/images/build-node-image.sh'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }).trim();
  if (!/^tabby-node:\S+$/.test(tag))
    throw new Error(`build-node-image.sh printed ${JSON.stringify(tag)}, not an image tag`);
  return tag;
}
