import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * Writes a self-signed certificate and its key (openssl) into `dir`, valid for
 * `names` (DNS names and IP addresses; default `127.0.0.1`), with `CN=cn`.
 * Being self-signed, the certificate is also the CA a client trusts it with.
 */
export function selfSigned(
  dir: string,
  cn: string,
  names: readonly string[] = ['127.0.0.1'],
  prefix = '',
): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${prefix}cert.pem`);
  const keyFile = join(dir, `${prefix}key.pem`);
  const san = names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
