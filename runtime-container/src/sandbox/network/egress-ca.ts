import { readFileSync } from "node:fs";

/** EGRESS_CA_FILE's certificates (PEM, one or more), read once at start-up; a file that cannot be read stops it. */
export function readEgressCa(file: string | undefined): string[] | undefined {
  if (!file) return undefined;
  const pem = readFileSync(file, "utf8");
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certs.length === 0) throw new Error(`EGRESS_CA_FILE ${file} holds no PEM certificate`);
  return certs;
}
