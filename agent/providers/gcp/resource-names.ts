// Secret Manager resource names. Pure.

export interface SecretVersionName {
  project: string;
  secret: string;
  version: string;
}

export function secretVersionName(project: string, name: string, version: string): string {
  const secretPath = name.startsWith('projects/') ? name : `projects/${project}/secrets/${name}`;
  return `${secretPath}/versions/${version}`;
}

/** projects/P/secrets/S/versions/V -> its parts; the service answers with the project number */
export function parseSecretVersionName(name: string): SecretVersionName | undefined {
  const m = /^projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/]+)$/.exec(name);
  return m ? { project: m[1]!, secret: m[2]!, version: m[3]! } : undefined;
}
