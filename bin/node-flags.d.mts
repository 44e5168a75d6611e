/** Types of node-flags.mjs (the launcher stays plain JavaScript: it runs before tsx is registered). */
export declare const DefaultNodeFlags: string;
export declare function missingNodeFlags(wanted: string, execArgv: readonly string[], nodeOptions: string | undefined): string[];
export declare function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
