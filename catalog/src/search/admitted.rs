//! BM25 statistics over only the resources a reader may discover.
//!
//! A BM25 score depends on how many documents hold each query term and on the average length of
//! a field. Scored with the whole index's statistics, the scores (and so the ranking) a reader
//! sees would move when a resource it may not discover is added or matches the query: a small
//! but real channel about hidden resources. [`Admitted`] gives tantivy the statistics of the
//! admitted documents alone, so what a reader sees is what it would see in an index holding only
//! the resources it may discover.

use crate::ids::ResourceId;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Searcher, TERMINATED, Term};

/// The admitted (alive, kept) documents of each segment of one searcher.
pub(super) struct Admitted<'s> {
    searcher: &'s Searcher,
    /// Per segment, whether each document is admitted.
    segments: Vec<Vec<bool>>,
    count: u64,
}

impl<'s> Admitted<'s> {
    /// The documents of `searcher` whose `id` field `keep` admits.
    pub(super) fn new(
        searcher: &'s Searcher,
        id: Field,
        keep: &dyn Fn(&ResourceId) -> bool,
    ) -> tantivy::Result<Self> {
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        let mut count = 0;
        for segment in searcher.segment_readers() {
            let mut admitted = vec![false; segment.max_doc() as usize];
            let inverted = segment.inverted_index(id)?;
            let mut terms = inverted.terms().stream()?;
            while terms.advance() {
                let Ok(value) = std::str::from_utf8(terms.key()) else {
                    continue;
                };
                if !keep(&ResourceId::new(value)) {
                    continue;
                }
                let mut postings = inverted
                    .read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if segment
                        .alive_bitset()
                        .is_none_or(|alive| alive.is_alive(doc))
                    {
                        admitted[doc as usize] = true;
                        count += 1;
                    }
                    doc = postings.advance();
                }
            }
            segments.push(admitted);
        }
        Ok(Admitted {
            searcher,
            segments,
            count,
        })
    }

    fn admitted(&self, segment: usize) -> impl Iterator<Item = DocId> + '_ {
        self.segments[segment]
            .iter()
            .enumerate()
            .filter(|(_, kept)| **kept)
            .map(|(doc, _)| doc as DocId)
    }
}

impl Bm25StatisticsProvider for Admitted<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut total = 0;
        for (i, segment) in self.searcher.segment_readers().iter().enumerate() {
            let norms = segment.get_fieldnorms_reader(field)?;
            total += self
                .admitted(i)
                .map(|doc| u64::from(norms.fieldnorm(doc)))
                .sum::<u64>();
        }
        Ok(total)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.count)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut freq = 0;
        for (i, segment) in self.searcher.segment_readers().iter().enumerate() {
            let inverted = segment.inverted_index(term.field())?;
            let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if self.segments[i][doc as usize] {
                    freq += 1;
                }
                doc = postings.advance();
            }
        }
        Ok(freq)
    }
}
