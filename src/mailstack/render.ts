/**
 * Renders the file tree installed on one mail server from `templates/`.
 * Contract used by the provisioning steps and `mailplane templates render`.
 * (Template set and validators: the mail-stack issue.)
 */
export interface ServerTemplateInput {
  hostname: string;
  domain: string;
  ipv4: string;
  ipv6: string;
  dkimSelector: string;
  dkimPrivateKeyPem: string;
  /** base64 of the per-server webmail auto-login HMAC key. */
  webmailHmacKey: string;
  adminEmail: string;
  limits: { messagesPerHourPerSender: number; recipientsPerMessage: number; quotaMb: number };
  mtaStsPolicy: { mode: 'enforce' | 'testing'; mx: string[]; maxAge: number };
}

export interface RenderedFile {
  /** Absolute path on the server. */
  path: string;
  content: string;
  mode: number;
}

export function renderServerTree(_input: ServerTemplateInput): RenderedFile[] {
  throw new Error('mail-stack templates are not rendered yet (issue 4)');
}
