// Types of <vae-playground> for embedders (TypeScript, editors). The same
// surface is described in custom-elements.json; tests/browser/manifest.test.mjs
// checks both against the element.

/** Kinds of error: `err.name` of a rejected call, `detail.kind` of the `error` event. */
export type ErrorKind =
  | 'InvalidConfig' // a bad attribute or setting
  | 'BadFile' // malformed or truncated data
  | 'NoAdapter' // WebGPU gave no adapter or device
  | 'DeviceLost' // the GPU device was lost
  | 'OutOfMemory' // over the device's memory or buffer limits
  | 'Diverged' // training went non-finite or exploded: rolled back to the last good snapshot and paused
  | 'Internal' // anything else from the wasm core
  | 'Network' // a download failed
  | 'WorkerFailed' // the training worker could not load or run
  | 'NotRunning'; // the element is not in a page (or was removed)

/** The settings a model trains with, resolved from its preset. */
export interface VaeConfig {
  preset: string;
  latent: number;
  beta: number;
  lr: number;
  batch: number;
  recon: 'bce' | 'gaussian';
  seed: number;
  binarize: boolean;
  /** KL warm-up: β ramps from 0 over this many steps (0: off). */
  kl_warmup: number;
  image: { channels: number; height: number; width: number };
  parameters: number;
}

/** The views the `views` attribute may list. */
export type ViewName =
  | 'status'
  | 'loss' // loss curves, the whole test set once an epoch, the Evaluate (IWAE) button
  | 'samples'
  | 'latent'
  | 'recon'
  | 'scatter' // test digits' mean codes on the latent grid's plane, by label
  | 'draw' // a pad to draw a digit, its reconstruction and point
  | 'interpolate' // decodes between two digits' codes (lerp or slerp)
  | 'inpaint' // damage a digit, the model repairs it
  | 'traverse' // the top-8-KL dimensions swept over -3..3 sigma
  | 'kl'; // KL per latent dimension and active units

/** Where the model trains, and why. */
export interface BackendInfo {
  backend: 'webgpu' | 'cpu';
  adapter: string;
  reason: 'webgpu' | 'requested' | 'no-webgpu' | 'no-adapter' | 'device-lost' | 'software-adapter' | 'measured' | string;
  message: string;
  /** backend="auto" timed both backends on this preset: images/s of each (else null). */
  probe: { cpu: number; webgpu: number } | null;
}

/** One phase of the start (milliseconds on the page's performance.now() clock). */
export interface StartupPhase {
  name: 'worker' | 'wasm' | 'device' | 'probe' | 'pipelines' | 'data' | 'first-step' | 'first-view' | string;
  start: number;
  end: number;
  ms: number;
}

/** How long the start took: page load to the first trained samples drawn (`total`), by phase (they overlap). */
export interface StartupBreakdown {
  total: number;
  phases: StartupPhase[];
}

/** Mean metrics over the latest chunk of training steps (nats per image). */
export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  recon: number;
  kl: number;
  images: number;
  images_per_sec: number;
  steps_per_sec: number;
}

export interface BenchResult {
  backend: 'webgpu' | 'cpu';
  adapter?: string;
  error?: string;
  steps?: number;
  batch?: number;
  seconds?: number;
  imagesPerSec?: number;
  loss?: number;
  /** The preset trained (the element's preset attribute, mlp without one). */
  preset?: string;
}

/** What the model trains on: a built-in data set, or the reader's own files. */
export type Dataset = 'mnist' | 'fashion-mnist' | 'files';

/** One file of the reader's data, as the wasm core read it. */
export interface DataFileInfo {
  name: string;
  kind: 'idx-images' | 'idx-labels' | 'cifar10' | 'image';
  count: number;
  channels: number;
  height: number;
  width: number;
  role: 'train' | 'test' | 'auto';
}

/** What a set of the reader's files holds. */
export interface DataSummary {
  kind: 'idx' | 'cifar10' | 'images' | 'empty';
  channels: 1 | 3;
  height: number;
  width: number;
  train: number;
  test: number;
  /** the test set is every tenth image (the files had no test part) */
  heldOut: boolean;
  labels: boolean;
  files: DataFileInfo[];
}

/** What loadFiles() did: trained on data, or loaded a model. */
export type LoadedFiles =
  | { kind: 'data'; summary: DataSummary; preset: string }
  | { kind: 'model'; config: VaeConfig; step: number };

/** A picture of a dark digit on a light or transparent background, any size. */
export type ImageSource = ImageData | HTMLCanvasElement | OffscreenCanvas | ImageBitmap | HTMLImageElement;

export interface VaePlaygroundEventMap {
  ready: CustomEvent<{ config: VaeConfig }>;
  backend: CustomEvent<BackendInfo>;
  step: CustomEvent<StepMetrics>;
  startup: CustomEvent<StartupBreakdown>;
  state: CustomEvent<{ running: boolean }>;
  error: CustomEvent<{ message: string; kind: ErrorKind }>;
  bench: CustomEvent<{ results: BenchResult[] }>;
  settings: CustomEvent<{ config: VaeConfig; dataset: Dataset }>;
}

/**
 * `<vae-playground>`. Attributes: see custom-elements.json (among them `perf`: present, the performance
 * overlay is open; the element's Performance button toggles it).
 */
export declare class VaePlayground extends HTMLElement {
  static readonly observedAttributes: string[];
  /** Starts (or resumes) training. */
  start(): Promise<void>;
  /** Pauses training; resolves once the worker has stopped stepping. */
  pause(): Promise<void>;
  /** A fresh model with the current settings. */
  reset(): Promise<void>;
  /** `n` (1 to 1024, default 16) new digits from the prior, dark ink on white. */
  sample(n?: number): Promise<ImageData[]>;
  /** One code, several, or a flat list of n * Z numbers -> one image per code. */
  decode(z: ArrayLike<number> | ArrayLike<number>[]): Promise<ImageData[]>;
  /** The mean latent code of an image, or of each of several. */
  encode(image: ImageSource): Promise<Float32Array>;
  encode(images: ImageSource[]): Promise<Float32Array[]>;
  /** Trains a fresh model on IDX, CIFAR-10 or PNG/JPEG files (or loads one .safetensors model). */
  loadFiles(files: Iterable<File> | ArrayLike<File>): Promise<LoadedFiles>;
  /** The model as .safetensors (the format of `vae train --out`). */
  saveCheckpoint(): Promise<Blob>;
  /** Replaces the model by a checkpoint's; training continues from it. */
  loadCheckpoint(file: Blob | ArrayBuffer | Uint8Array): Promise<VaeConfig>;
  /** Loss per image on the first `images` test images (default all). */
  evaluate(images?: number): Promise<{ loss: number; recon: number; kl: number; images: number }>;
  /** A PNG of what a view shows. */
  savePng(view: string): Promise<Blob>;
  readonly trainingData: Dataset;
  /** Test hook, only with the `debug-faults` attribute: a panic in the wasm core, or a lost GPU device. */
  debugFault(fault: 'panic' | 'device-lost'): Promise<void>;
  readonly ready: boolean;
  readonly running: boolean;
  readonly step: number;
  /** How long the start took, by phase, once the first trained samples are drawn; null before. */
  readonly startup: StartupBreakdown | null;
  readonly config: VaeConfig | null;
  readonly backend: BackendInfo | null;
  readonly error: string | null;

  addEventListener<K extends keyof VaePlaygroundEventMap>(
    type: K,
    listener: (this: VaePlayground, ev: VaePlaygroundEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof VaePlaygroundEventMap>(
    type: K,
    listener: (this: VaePlayground, ev: VaePlaygroundEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'vae-playground': VaePlayground;
  }
}
