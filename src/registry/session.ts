import * as core from '@actions/core';
import type { Inputs } from '../inputs/inputs.js';
import { RegistryClient } from './client.js';
import { dockerConfigCredentials, readDockerConfig, type Credentials } from './credentials.js';

/**
 * One client per registry (the tags' and a composite's components'), each with its credentials:
 * the inputs' registry-username/registry-password belong to the first tag's registry only (never
 * sent to another host); every other registry, or all of them without those inputs, uses the
 * docker config (what docker/login-action writes), else anonymous access.
 */
export async function openRegistries(registries: string[], inputs: Inputs, env: NodeJS.ProcessEnv, firstTagRegistry: string | undefined): Promise<(registry: string) => RegistryClient> {
  const config = await readDockerConfig(env);
  const clients = new Map<string, RegistryClient>();
  for (const registry of registries) {
    let credentials: Credentials | undefined;
    if (inputs.registryUsername && inputs.registryPassword && registry === firstTagRegistry) {
      credentials = { kind: 'basic', username: inputs.registryUsername, password: inputs.registryPassword, source: 'registry-username/registry-password' };
    } else {
      credentials = await dockerConfigCredentials(registry, config, env);
    }
    core.info(`${registry}: ${credentials ? `credentials from ${credentials.source}` : 'anonymous'}`);
    clients.set(registry, new RegistryClient({ registry, insecureRegistries: inputs.insecureRegistries, credentials }));
  }
  return (registry) => {
    const client = clients.get(registry);
    if (!client) throw new Error(`no client for ${registry}`);
    return client;
  };
}
