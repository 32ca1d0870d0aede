export declare function queueKillLoop(options?: {
  kills?: number;
  seed?: number;
  workers?: number;
  log?: (line: string) => void;
}): Promise<{ tried: number; survived: number; midway: number; failures: string[] }>;
