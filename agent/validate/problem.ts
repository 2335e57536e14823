// A broken rule, described for the operator. `message` names the secret, the
// key and what is wrong, never the value or any part of it (not a matched
// substring, not a character, not its exact length).

export interface Problem {
  secret: string;
  key: string;
  message: string;
  /** the rule that failed: present | nonEmpty | minLength | maxLength | pattern | format | bytes | minBytes | expiresInMoreThanDays | matchesCertificate */
  rule: string;
}

/** what a single check reports before the orchestrator adds secret and key */
export interface Finding {
  rule: string;
  /** the text after `secret.key: ` */
  text: string;
}

export function finding(rule: string, text: string): Finding {
  return { rule, text };
}
