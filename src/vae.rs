//! The VAE: encoder -> (mu, logvar) -> z = mu + sigma * eps -> decoder -> logits,
//! trained on `mean_B(recon + beta * KL(q(z|x) || N(0, I)))`.
//!
//! Shapes: x [B, D], h [B, H], mu / logvar / eps / z [B, Z], logits [B, D].
//! All parameters live in one flat buffer described by a [`ParamTable`], with
//! PyTorch's names and layouts (`encoder.fc1.weight` is `[out, in]`).

use crate::backend::{Activation, Backend, Noise, View};
use crate::config::{ConfigError, Shape, VaeConfig};
use crate::nn::plan::{Geometry, LayerPlan, ModelPlan, ParamViews};
use crate::nn::{Dense, Layer, Stack};
use crate::rng;
use std::collections::HashMap;

/// Name, shape and place of one parameter tensor in the flat buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamEntry {
    pub name: String,
    pub shape: Vec<usize>,
    pub offset: usize,
    /// PyTorch's default init bound for this tensor: U(-bound, bound).
    pub init_bound: f32,
}

impl ParamEntry {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamTable {
    pub entries: Vec<ParamEntry>,
    pub total: usize,
}

impl ParamTable {
    fn push(&mut self, name: String, shape: Vec<usize>, init_bound: f32) -> (usize, usize) {
        let entry = ParamEntry {
            name,
            shape,
            offset: self.total,
            init_bound,
        };
        let span = (entry.offset, entry.len());
        self.total += entry.len();
        self.entries.push(entry);
        span
    }

    /// Initial values: PyTorch's defaults, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    /// for weight and bias (`fan_in` is `in` for `Linear`, `Ci KH KW` for
    /// `Conv2d`, `Co KH KW` for `ConvTranspose2d`, as PyTorch computes it from
    /// the weight's dimension 1), drawn from the counter RNG so both backends agree.
    pub fn init_values(&self, seed: u32) -> Vec<f32> {
        let mut values = vec![0.0; self.total];
        for (i, e) in self.entries.iter().enumerate() {
            let stream = rng::stream(rng::StreamKind::Init, i as u32);
            for (j, v) in values[e.offset..e.offset + e.len()].iter_mut().enumerate() {
                *v = e.init_bound * (2.0 * rng::uniform(seed, stream, j as u32) - 1.0);
            }
        }
        values
    }
}

/// The flat training buffers: parameters, gradients and Adam's two moments.
#[derive(Clone, Copy, Debug)]
pub struct FlatBuffers {
    pub params: View,
    pub grads: View,
    pub adam_m: View,
    pub adam_v: View,
}

/// The model and its activation buffers, sized for `config.batch` rows.
pub struct Vae {
    pub config: VaeConfig,
    pub table: ParamTable,
    pub flat: FlatBuffers,
    encoder: Stack,
    head_mu: Dense,
    head_logvar: Dense,
    decoder: Stack,
    /// Input images [B, D].
    pub x: View,
    pub mu: View,
    pub logvar: View,
    pub eps: View,
    /// Latent codes [B, Z]; `decode` reads them from here.
    pub z: View,
    dmu: View,
    dlogvar: View,
    /// Per-row KL and reconstruction loss [B].
    pub kl: View,
    pub recon: View,
    /// Pixel probabilities of the last decode [B, D].
    pub probs: View,
}

/// A planned layer and where its parameters live in the flat buffer.
#[derive(Clone, Copy, Debug)]
struct Placed {
    plan: LayerPlan,
    /// Offset and length of the weight and of the bias; `None` for a layer
    /// without parameters.
    spans: Option<[(usize, usize); 2]>,
}

impl Placed {
    /// Registers `plan`'s tensors as `name.weight` and `name.bias`.
    fn new(table: &mut ParamTable, name: &str, plan: LayerPlan) -> Placed {
        let spans = plan.geometry.params().map(|p| {
            [
                table.push(format!("{name}.weight"), p.weight, p.init_bound),
                table.push(format!("{name}.bias"), p.bias, p.init_bound),
            ]
        });
        Placed { plan, spans }
    }

    /// The runtime layer over its place in `flat`; `None` for a layer
    /// without parameters (a change of view only).
    fn layer(&self, flat: &FlatBuffers) -> Option<Layer> {
        let [w, b] = self.spans?;
        self.plan.geometry.layer(ParamViews {
            weight: flat.params.slice(w.0, w.1),
            bias: flat.params.slice(b.0, b.1),
            dweight: flat.grads.slice(w.0, w.1),
            dbias: flat.grads.slice(b.0, b.1),
        })
    }
}

/// Where every parameter of a config lives; computed without a backend so
/// checkpoints can be checked before any model is touched.
struct Layout {
    table: ParamTable,
    encoder: Vec<Placed>,
    mu: Placed,
    logvar: Placed,
    decoder: Vec<Placed>,
}

impl Layout {
    /// Places the parameters of `plan`, the plan of `config`.
    fn new(config: &VaeConfig, plan: &ModelPlan) -> Layout {
        let (encoder, decoder) = (&plan.encoder, &plan.decoder);
        let hidden = encoder.last().map_or(config.image.dim(), |l| l.out.len());
        let head = LayerPlan {
            geometry: Geometry::Dense {
                input: hidden,
                out: config.latent,
            },
            act: Activation::Identity,
            out: Shape::Flat(config.latent),
        };
        let mut table = ParamTable::default();
        let encoder = place_stack(&mut table, "encoder", encoder);
        let mu = Placed::new(&mut table, "encoder.fc_mu", head);
        let logvar = Placed::new(&mut table, "encoder.fc_logvar", head);
        let decoder = place_stack(&mut table, "decoder", decoder);
        Layout {
            table,
            encoder,
            mu,
            logvar,
            decoder,
        }
    }
}

/// Registers the layers of a stack with PyTorch-style names, numbered per
/// kind: `prefix.fcN` (dense), `prefix.convN` (Conv2d), `prefix.deconvN`
/// (ConvTranspose2d).
fn place_stack(table: &mut ParamTable, prefix: &str, plans: &[LayerPlan]) -> Vec<Placed> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut placed = Vec::with_capacity(plans.len());
    for &plan in plans {
        let name = match plan.geometry.params() {
            Some(p) => {
                let n = counts.entry(p.kind).or_default();
                *n += 1;
                format!("{prefix}.{}{n}", p.kind)
            }
            None => String::new(),
        };
        placed.push(Placed::new(table, &name, plan));
    }
    placed
}

/// Checks, before anything is allocated, that the model's largest buffers
/// fit the backend's buffer limit (`max_words`, from the GPU device's
/// `limits()`): the flat parameter buffer, and the widest activation of the
/// batch. The error names the setting to reduce.
fn check_fits(
    config: &VaeConfig,
    plan: &ModelPlan,
    params: usize,
    max_words: usize,
) -> Result<(), ConfigError> {
    let mb = |words: usize| words as f64 * 4.0 / 1e6;
    if params > max_words {
        return Err(ConfigError(format!(
            "the model's {params} parameters need a {:.0} MB buffer but this device allows at most {:.0} MB \
             per buffer: choose a smaller preset or a smaller latent size",
            mb(params),
            mb(max_words)
        )));
    }
    let widest = plan
        .encoder
        .iter()
        .chain(&plan.decoder)
        .map(|l| l.out.len())
        .chain([config.image.dim(), config.latent])
        .max()
        .unwrap_or(1)
        .max(1);
    let need = config.batch.checked_mul(widest);
    if need.is_none_or(|n| n > max_words) {
        return Err(ConfigError(format!(
            "batch size {} needs a {:.0} MB buffer for its widest layer ({widest} values per image) but this \
             device allows at most {:.0} MB per buffer: lower the batch size to at most {}",
            config.batch,
            config.batch as f64 * mb(widest),
            mb(max_words),
            (max_words / widest).max(1)
        )));
    }
    Ok(())
}

/// The parameter table of a config: names, shapes and offsets.
///
/// Panics on an invalid config (`VaeConfig::validate`).
pub fn param_table(config: &VaeConfig) -> ParamTable {
    let plan = config.plan().expect("a valid config");
    Layout::new(config, &plan).table
}

impl Vae {
    pub fn new<B: Backend>(be: &mut B, config: VaeConfig) -> Result<Vae, ConfigError> {
        let plan = config.plan()?;
        let dim = config.image.dim();
        let zdim = config.latent;
        let rows = config.batch;

        let Layout {
            table,
            encoder,
            mu,
            logvar,
            decoder,
        } = Layout::new(&config, &plan);
        check_fits(&config, &plan, table.total, be.max_buffer_words())?;
        let flat = FlatBuffers {
            params: be.alloc(table.total, "params"),
            grads: be.alloc(table.total, "grads"),
            adam_m: be.alloc(table.total, "adam.m"),
            adam_v: be.alloc(table.total, "adam.v"),
        };
        be.write(flat.params, &table.init_values(config.seed));

        // Each layer, then its non-linearity as a layer of its own.
        let to_layers = |placed: &[Placed]| {
            let mut layers = Vec::new();
            for p in placed {
                let Some(layer) = p.layer(&flat) else {
                    continue;
                };
                let width = layer.out_len();
                layers.push(layer);
                if p.plan.act != Activation::Identity {
                    layers.push(Layer::Act(p.plan.act, width));
                }
            }
            layers
        };
        let head = |p: &Placed| match p.layer(&flat) {
            Some(Layer::Dense(d)) => d,
            other => unreachable!("a head is dense, not {other:?}"),
        };
        let encoder = Stack::new(be, to_layers(&encoder), rows, "encoder");
        let decoder = Stack::new(be, to_layers(&decoder), rows, "decoder");
        let head_mu = head(&mu);
        let head_logvar = head(&logvar);

        let mut alloc = |n: usize, label: &str| be.alloc(n, label);
        Ok(Vae {
            x: alloc(rows * dim, "x"),
            mu: alloc(rows * zdim, "mu"),
            logvar: alloc(rows * zdim, "logvar"),
            eps: alloc(rows * zdim, "eps"),
            z: alloc(rows * zdim, "z"),
            dmu: alloc(rows * zdim, "dmu"),
            dlogvar: alloc(rows * zdim, "dlogvar"),
            kl: alloc(rows, "kl"),
            recon: alloc(rows, "recon"),
            probs: alloc(rows * dim, "probs"),
            config,
            table,
            flat,
            encoder,
            head_mu,
            head_logvar,
            decoder,
        })
    }

    pub fn dim(&self) -> usize {
        self.config.image.dim()
    }

    pub fn max_rows(&self) -> usize {
        self.config.batch
    }

    /// Encoder and heads: x -> (mu, logvar) for `rows` rows of `self.x`.
    pub fn encode<B: Backend>(&self, be: &mut B, rows: usize) {
        self.encoder.forward(be, self.x, rows);
        let h = self.encoder.output();
        self.head_mu.forward(be, h, self.mu, rows);
        self.head_logvar.forward(be, h, self.logvar, rows);
    }

    /// Decoder: z -> logits, then pixel probabilities into `self.probs`.
    pub fn decode<B: Backend>(&self, be: &mut B, rows: usize) {
        self.decoder.forward(be, self.z, rows);
        let n = rows * self.dim();
        be.activation(
            Activation::Sigmoid,
            self.decoder.output().slice(0, n),
            self.probs.slice(0, n),
        );
    }

    /// The whole forward pass and the loss: per-row `recon` and `kl`, and the
    /// loss gradient (scaled by 1/rows) left in the decoder's output gradient.
    pub fn forward_loss<B: Backend>(&self, be: &mut B, rows: usize, noise: Noise) {
        let zdim = self.config.latent;
        self.encode(be, rows);
        let zn = rows * zdim;
        be.reparam_forward(
            self.mu.slice(0, zn),
            self.logvar.slice(0, zn),
            self.eps.slice(0, zn),
            self.z.slice(0, zn),
            self.kl.slice(0, rows),
            rows,
            zdim,
            noise,
        );
        self.decoder.forward(be, self.z, rows);
        let n = rows * self.dim();
        be.recon_loss(
            self.config.recon,
            self.decoder.output().slice(0, n),
            self.x.slice(0, n),
            self.decoder.doutput().slice(0, n),
            self.recon.slice(0, rows),
            rows,
            self.dim(),
            1.0 / rows as f32,
        );
    }

    /// Backward through decoder, reparameterization and encoder, after
    /// `forward_loss`. Gradients are added into `flat.grads`; zero it first.
    pub fn backward<B: Backend>(&self, be: &mut B, rows: usize) {
        self.backward_beta(be, rows, self.config.beta);
    }

    /// `backward` with the KL term weighted by `beta` instead of the
    /// config's (the KL warm-up's ramp).
    pub fn backward_beta<B: Backend>(&self, be: &mut B, rows: usize, beta: f32) {
        let zn = rows * self.config.latent;
        self.decoder.backward(be, self.z, rows, true);
        be.reparam_backward(
            self.mu.slice(0, zn),
            self.logvar.slice(0, zn),
            self.eps.slice(0, zn),
            self.decoder.dinput.slice(0, zn),
            self.dmu.slice(0, zn),
            self.dlogvar.slice(0, zn),
            beta / rows as f32,
        );
        let h = self.encoder.output();
        let dh = self.encoder.doutput();
        self.head_mu
            .backward_accumulating(be, h, self.dmu, Some(dh), false, rows);
        match self.encoder.top_act() {
            // The second head's input gradient also goes through the
            // encoder's top activation, in one op.
            Some((act, y, dpre)) => {
                let lv = &self.head_logvar;
                lv.backward_weights(be, h, self.dlogvar, rows);
                lv.backward_data_act(be, self.dlogvar, y, dh, dpre, act, true, rows);
                self.encoder.backward_from(be, self.x, rows, false, true);
            }
            None => {
                self.head_logvar
                    .backward_accumulating(be, h, self.dlogvar, Some(dh), true, rows);
                self.encoder.backward(be, self.x, rows, false);
            }
        }
    }

    pub fn free<B: Backend>(&self, be: &mut B) {
        self.encoder.free(be);
        self.decoder.free(be);
        let f = self.flat;
        for v in [
            f.params,
            f.grads,
            f.adam_m,
            f.adam_v,
            self.x,
            self.mu,
            self.logvar,
            self.eps,
            self.z,
        ]
        .into_iter()
        .chain([self.dmu, self.dlogvar, self.kl, self.recon, self.probs])
        {
            be.free(v);
        }
    }
}
