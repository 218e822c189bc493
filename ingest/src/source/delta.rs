//! A Delta table by URL: the back-flow path (回流). Each run reads the table's latest version
//! once; the version is the input's checksum, so a version lands once.

use super::{PlanContext, Source, SourceColumn};
use crate::error::RunError;
use crate::lander::Lander;
use futures::StreamExt;
use std::collections::HashMap;
use zhongshu_catalog::RunInput;
use zhongshu_engine::{EngineError, Lake};

/// See the module documentation.
pub struct DeltaSource {
    pub url: String,
    pub options: HashMap<String, String>,
}

fn version_of(input: &RunInput) -> u64 {
    input
        .checksum
        .trim_start_matches('v')
        .parse()
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl Source for DeltaSource {
    async fn plan(&self, cx: &PlanContext<'_>) -> Result<Vec<RunInput>, RunError> {
        let version = Lake::external_version(&self.url, &self.options).await?;
        let checksum = format!("v{version}");
        if cx
            .landed
            .iter()
            .any(|(p, _, c)| *p == self.url && *c == checksum)
        {
            return Ok(Vec::new());
        }
        Ok(vec![RunInput {
            kind: "delta".into(),
            name: self.url.clone(),
            size: 0,
            checksum,
            rows: 0,
        }])
    }

    async fn columns(&self, input: &RunInput) -> Result<Vec<SourceColumn>, RunError> {
        let stream = Lake::scan_external(&self.url, &self.options, version_of(input)).await?;
        Ok(stream
            .schema()
            .fields()
            .iter()
            .map(|f| SourceColumn {
                name: f.name().clone(),
                data_type: Some(f.data_type().clone()),
            })
            .collect())
    }

    async fn read(&self, input: &RunInput, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let version = version_of(input);
        let name = format!("{}@v{version}", self.url);
        let mut stream = Lake::scan_external(&self.url, &self.options, version).await?;
        let header: Vec<String> = stream
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        lander.begin(&name, &header)?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            let batch = batch.map_err(EngineError::from)?;
            lander.batch(&batch, rows).await?;
            rows += batch.num_rows() as u64;
        }
        Ok(rows)
    }
}
