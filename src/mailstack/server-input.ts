/** Everything the mail-stack templates need for one server (rendered by render.ts, checked by validate.ts). */
export interface ServerTemplateInput {
  hostname: string;
  domain: string;
  ipv4: string;
  ipv6: string;
  /** The control plane's addresses or CIDRs: the only sources SSH accepts (nftables). */
  sshSources: string[];
  dkimSelector: string;
  dkimPrivateKeyPem: string;
  /** The Ed25519 key (RFC 8463) Rspamd signs with beside the RSA one, under its own selector; absent: RSA only. */
  dkimEd25519?: { selector: string; privateKeyPem: string } | undefined;
  /** base64 of the per-server webmail auto-login HMAC key. */
  webmailHmacKey: string;
  adminEmail: string;
  /** ACME directory; Let's Encrypt production when absent (staging is for trying things out). */
  acmeDirectoryUrl?: string | undefined;
  limits: { messagesPerHourPerSender: number; recipientsPerMessage: number; quotaMb: number };
  mtaStsPolicy: { mode: 'enforce' | 'testing'; mx: string[]; maxAge: number };
}
