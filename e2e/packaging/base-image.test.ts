// The locally made Debian base image (scripts/base-image.sh) is real: testcontainers starts it on the local engine,
// with no registry involved, and a command inside it runs.
import { describe, expect, it } from 'vitest';
import type { PullPolicy } from 'testcontainers';
import { GenericContainer } from 'testcontainers';

const image = process.env.TABBY_BASE_IMAGE ?? 'tabby/debian:bookworm';

describe('local Debian base image', () => {
  it('starts with testcontainers and runs commands', async () => {
    const container = await new GenericContainer(image)
      .withPullPolicy({ shouldPull: () => false } satisfies PullPolicy)
      .withCommand(['sleep', 'infinity'])
      .start();
    try {
      const release = await container.exec(['cat', '/etc/debian_version']);
      expect(release.exitCode).toBe(0);
      expect(release.output.trim()).toMatch(/^12\.\d+$/);
      const ok = await container.exec(['/bin/sh', '-c', 'exit 0']);
      expect(ok.exitCode).toBe(0);
      const fail = await container.exec(['/bin/sh', '-c', 'exit 3']);
      expect(fail.exitCode).toBe(3);
    } finally {
      await container.stop();
    }
  });
});
