// Parsers for `tabby` flag values, run by commander when the command line is parsed (argParser): a bad value stops
// the command before anything starts, with commander's usage error naming the flag, followed by what the flag
// accepts and what it got. The same parsers check values a command takes from the environment instead
// (`fromEnv`), naming the variable. Exit code 2, like every usage error.
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { DNS1123_SUBDOMAIN } from '../api/common.js';

type Parse<T> = (text: string) => T;

/** A usage error commander reports after naming the flag and value (exit code 2). */
export function invalidValue(message: string): InvalidArgumentError {
  const err = new InvalidArgumentError(message);
  (err as { exitCode: number }).exitCode = 2;
  return err;
}

function refuse(what: string, accepts: string, text: string): never {
  throw invalidValue(`${what} must be ${accepts} (got ${JSON.stringify(text)})`);
}

/** A TCP port to listen on: 1-65535 (0 would be a random port nobody can scrape). */
export function portValue(flag: string): Parse<number> {
  return (text) => {
    const t = text.trim();
    const n = Number(t);
    if (!/^\d+$/.test(t) || n < 1 || n > 65535) refuse(flag, 'a port number from 1 to 65535', text);
    return n;
  };
}

export function choiceValue<T extends string>(flag: string, values: readonly T[]): Parse<T> {
  return (text) => {
    if (!(values as readonly string[]).includes(text)) refuse(flag, `one of ${values.join(', ')}`, text);
    return text as T;
  };
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function logLevelValue(flag: string): Parse<LogLevel> {
  return choiceValue(flag, LOG_LEVELS);
}

/** An IPv4 or IPv6 address (what a server binds to), not a host name. */
export function ipValue(flag: string): Parse<string> {
  return (text) => {
    if (isIP(text) === 0) refuse(flag, 'an IP address (IPv4 or IPv6)', text);
    return text;
  };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes object names: DNS-1123 subdomains of at most 253 characters (Nodes, IPPools, Leases). */
function subdomainValue(flag: string, what: string): Parse<string> {
  return (text) => {
    if (text.length > 253 || !DNS1123_SUBDOMAIN.test(text)) {
      refuse(
        flag,
        `${what} (a DNS-1123 subdomain: at most 253 lower-case letters, digits, "-" and ".", starting and ending alphanumeric)`,
        text,
      );
    }
    return text;
  };
}

export function nodeNameValue(flag: string): Parse<string> {
  return subdomainValue(flag, 'a Kubernetes node name');
}

export function objectNameValue(flag: string): Parse<string> {
  return subdomainValue(flag, 'an object name');
}

/** A DNS-1123 label of at most 63 characters: namespaces, and names that become file names. */
function labelValue(flag: string, what: string): Parse<string> {
  return (text) => {
    if (text.length > 63 || !DNS1123_LABEL.test(text)) {
      refuse(
        flag,
        `${what} (a DNS-1123 label: at most 63 lower-case letters, digits and "-", starting and ending alphanumeric)`,
        text,
      );
    }
    return text;
  };
}

export function namespaceValue(flag: string): Parse<string> {
  return labelValue(flag, 'a namespace name');
}

export function clusterNameValue(flag: string): Parse<string> {
  return labelValue(flag, 'a cluster name');
}

/** `NAMESPACE/NAME` of a pod (`NAME` alone: namespace default, as kubectl). */
export function podRefValue(flag: string): Parse<{ namespace: string; name: string }> {
  return (text) => {
    const slash = text.indexOf('/');
    const namespace = slash < 0 ? 'default' : text.slice(0, slash);
    const name = slash < 0 ? text : text.slice(slash + 1);
    const ok =
      namespace.length <= 63 && DNS1123_LABEL.test(namespace) && name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
    if (!ok) refuse(flag, 'a pod as NAMESPACE/NAME (or NAME, in namespace default)', text);
    return { namespace, name };
  };
}

/** An IPv4 or IPv6 address, or a CIDR (`10.0.0.0/26`, `fd00::/122`). */
export function addressOrCidrValue(flag: string): Parse<string> {
  return (text) => {
    const slash = text.indexOf('/');
    const addr = slash < 0 ? text : text.slice(0, slash);
    const len = slash < 0 ? undefined : text.slice(slash + 1);
    const family = isIP(addr);
    const max = family === 6 ? 128 : 32;
    const okLen = len === undefined || (/^\d{1,3}$/.test(len) && Number(len) <= max);
    if (family === 0 || !okLen) refuse(flag, 'an IP address or a CIDR (e.g. 10.244.1.5 or 10.244.1.0/26)', text);
    return text;
  };
}

/**
 * An environment variable a flag defaults to, checked by `parse` (made for that variable); undefined when unset.
 * Throws a plain Error, which the CLI prints (a commander error raised after parsing would be printed by nobody).
 */
export function fromEnv<T>(name: string, parse: (flag: string) => Parse<T>): T | undefined {
  const text = process.env[name];
  if (text === undefined) return undefined;
  try {
    return parse(name)(text);
  } catch (err) {
    throw new Error((err as Error).message);
  }
}
