//! What `vae train --out` records per epoch: `metrics.jsonl` (one JSON object
//! a line, written as each epoch ends, so a long run can be followed with
//! `tail -f`) and the loss curves drawn as `loss.svg`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Serialize;
use vae_playground::train::Metrics;

/// One line of `metrics.jsonl`: mean loss terms per image over the epoch's
/// training steps and over the whole test set afterwards.
#[derive(Clone, Debug, Serialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub train_loss: f64,
    pub train_recon: f64,
    pub train_kl: f64,
    pub test_loss: f64,
    pub test_recon: f64,
    pub test_kl: f64,
    /// Wall-clock seconds of the epoch's training steps.
    pub seconds: f64,
    pub images_per_sec: f64,
    /// Latent dims with a mean KL above 0.01 nats on the test set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_units: Option<usize>,
    /// The KL weight at the epoch's end (below beta during a KL warm-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kl_weight: Option<f64>,
}

impl EpochRecord {
    pub fn new(epoch: u32, train: &Metrics, test: &Metrics, seconds: f64) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: train.loss,
            train_recon: train.recon,
            train_kl: train.kl,
            test_loss: test.loss,
            test_recon: test.recon,
            test_kl: test.kl,
            seconds,
            images_per_sec: train.images as f64 / seconds.max(1e-9),
            active_units: None,
            kl_weight: None,
        }
    }
}

pub struct MetricsLog {
    path: PathBuf,
    file: File,
    records: Vec<EpochRecord>,
}

impl MetricsLog {
    pub fn create(path: &Path) -> Result<MetricsLog, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(MetricsLog {
            path: path.to_path_buf(),
            file,
            records: Vec::new(),
        })
    }

    pub fn push(&mut self, record: EpochRecord) -> Result<(), String> {
        let line = serde_json::to_string(&record).map_err(|e| e.to_string())?;
        writeln!(self.file, "{line}")
            .and_then(|()| self.file.flush())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        self.records.push(record);
        Ok(())
    }

    /// Train and test loss per epoch as an SVG line chart.
    pub fn loss_svg(&self) -> Result<String, String> {
        let mut svg = String::new();
        draw_losses(&self.records, &mut svg).map_err(|e| format!("cannot draw loss.svg: {e}"))?;
        Ok(svg)
    }
}

fn draw_losses(
    records: &[EpochRecord],
    svg: &mut String,
) -> Result<(), Box<dyn std::error::Error>> {
    let points = |f: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        records
            .iter()
            .map(|r| (r.epoch as f64, f(r)))
            .filter(|p| p.1.is_finite())
            .collect()
    };
    let train = points(|r| r.train_loss);
    let test = points(|r| r.test_loss);
    let ys = train.iter().chain(&test).map(|p| p.1);
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.1).max(1.0);
    let last = records.last().map_or(1, |r| r.epoch) as f64;

    let root = SVGBackend::with_string(svg, (640, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("loss per image (nats)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.5..last + 0.5, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_labels(records.len().clamp(2, 10))
        .draw()?;
    for (name, data, colour) in [("train", &train, BLUE), ("test", &test, RED)] {
        chart
            .draw_series(LineSeries::new(
                data.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
        // Points too, so that a single epoch still shows.
        chart.draw_series(data.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: u32, train: f64, test: f64) -> EpochRecord {
        let m = |loss| Metrics {
            loss,
            recon: loss - 10.0,
            kl: 10.0,
            images: 600,
        };
        EpochRecord::new(epoch, &m(train), &m(test), 2.0)
    }

    #[test]
    fn records_serialize_with_every_field() {
        let v = serde_json::to_value(record(3, 150.0, 148.0)).unwrap();
        assert_eq!(v["epoch"], 3);
        assert_eq!(v["train_kl"], 10.0);
        assert_eq!(v["test_recon"], 138.0);
        assert_eq!(v["images_per_sec"], 300.0);
    }

    #[test]
    fn the_chart_is_an_svg_with_both_curves() {
        let log = |records: Vec<EpochRecord>| {
            let mut svg = String::new();
            draw_losses(&records, &mut svg).unwrap();
            svg
        };
        let svg = log(vec![record(1, 180.0, 160.0), record(2, 150.0, 148.0)]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("<polyline"), "no curve drawn");
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
            .collect();
        assert!(
            texts.contains(&"train") && texts.contains(&"test"),
            "{texts:?}"
        );
        // One epoch, or none finite, still draws.
        assert!(log(vec![record(1, 180.0, 160.0)]).contains("<circle"));
        assert!(log(vec![record(1, f64::NAN, f64::NAN)]).ends_with("</svg>\n"));
    }
}
