export declare function killLoop(options?: {
  kills?: number;
  seed?: number;
  workers?: number;
  log?: (line: string) => void;
}): Promise<{ tried: number; survived: number; failures: string[] }>;
