// Certificates for a throwaway control plane: a CA, the apiserver's serving certificate, client certificates for
// identities (admin in system:masters, or any user/groups a test wants) and the service-account signing key pair.
// Node can make keys but not X.509 certificates, so this shells out to openssl, which every Debian has.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  await run('openssl', args, { cwd });
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
}

export async function createPki(dir: string, sans: { ips: string[]; dns: string[] }): Promise<Pki> {
  const p = (f: string): string => join(dir, f);
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=tabby-dev-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  const san = [...sans.dns.map((d) => `DNS:${d}`), ...sans.ips.map((i) => `IP:${i}`)].join(',');
  await writeFile(p('server.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`);
  await openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      '/CN=kube-apiserver',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      // A random serial per certificate: -CAcreateserial shares a counter file that concurrent signings corrupt.
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '3650',
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ],
    dir,
  );
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

/** A client certificate for `user` in `groups`, signed by the cluster CA (x509 client-cert authentication). */
export async function createClientCert(
  pki: Pki,
  file: string,
  user: string,
  groups: string[],
): Promise<{ cert: string; key: string }> {
  const subj = '/' + [...groups.map((g) => `O=${g}`), `CN=${user}`].join('/');
  const key = join(pki.dir, `${file}.key`);
  const cert = join(pki.dir, `${file}.crt`);
  await writeFile(join(pki.dir, `${file}.ext`), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  await openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      subj,
      '-keyout',
      key,
      '-out',
      `${file}.csr`,
    ],
    pki.dir,
  );
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${file}.csr`,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      // A random serial per certificate: -CAcreateserial shares a counter file that concurrent signings corrupt.
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '3650',
      '-extfile',
      `${file}.ext`,
      '-out',
      cert,
    ],
    pki.dir,
  );
  return { cert, key };
}
