//! Full-text search over resources with Chinese tokenisation.
//!
//! Two analyses of the same text make search work the way data officers type:
//! - **words** (jieba, search mode) rank results: `社会保险` matches the word 社会保险;
//! - **characters** (one token per Han character, one per ASCII word) decide what matches at
//!   all: every character of the query must occur, so the abbreviation `社保` finds
//!   `社会保险参保信息`, which word segmentation alone would miss.
//!
//! The index is derived data. It follows the catalog through the change log: [`SearchIndex::sync`]
//! re-indexes the resources changed since the last synchronised entry, or rebuilds everything
//! when the index is new or belongs to another catalog.

mod admitted;

use crate::error::{CatalogError, Result};
use crate::ids::ResourceId;
use crate::model::SearchDocument;
use crate::reference::is_han;
use crate::store::CatalogStore;
use admitted::Admitted;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{LowerCaser, TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

const WORDS: &str = "zh_words";
/// Common abbreviations of government vocabulary and what they stand for; the full words join
/// the ranking so that `社保` ranks 社会保险 resources as well as those that spell 社保.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("社保", "社会保险"),
    ("医保", "医疗保险"),
    ("低保", "最低生活保障"),
    ("公积金", "住房公积金"),
    ("身份证", "公民身份号码 居民身份证"),
    ("工商", "市场监督管理 市场主体登记"),
    ("执照", "营业执照"),
    ("房产", "房屋 不动产"),
];
const CHARS: &str = "zh_chars";
const META_FILE: &str = "zhongshu-sync.json";
const WRITER_HEAP: usize = 64 * 1024 * 1024;
/// Above this many changed resources a full rebuild is cheaper than piecewise updates.
const REBUILD_THRESHOLD: usize = 2000;

fn search_err(e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Search(e.to_string())
}

/// One token per Han character and one per run of ASCII letters and digits.
#[derive(Clone, Debug, Default)]
pub struct HanCharTokenizer;

/// The tokens of one text, precomputed.
#[derive(Debug)]
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for HanCharTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        let mut ascii_start: Option<usize> = None;
        let push = |tokens: &mut Vec<Token>, from: usize, to: usize| {
            let position = tokens.len();
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text: text[from..to].to_owned(),
                position_length: 1,
            });
        };
        for (i, c) in text.char_indices() {
            if c.is_ascii_alphanumeric() {
                ascii_start.get_or_insert(i);
                continue;
            }
            if let Some(start) = ascii_start.take() {
                push(&mut tokens, start, i);
            }
            if is_han(c) {
                push(&mut tokens, i, i + c.len_utf8());
            }
        }
        if let Some(start) = ascii_start {
            push(&mut tokens, start, text.len());
        }
        VecTokenStream { tokens, next: 0 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    provider: Field,
    name_words: Field,
    body_words: Field,
    all_chars: Field,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The resource.
    pub id: ResourceId,
    /// Its name.
    pub name: String,
    /// Its provider department.
    pub provider_name: String,
    /// Relevance score.
    pub score: f32,
}

/// A page of search hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Number of matching resources.
    pub total: usize,
    /// Hits of this page, best first.
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SyncMeta {
    seq: i64,
    hash: Option<String>,
}

/// The resource search index, kept in a directory.
pub struct SearchIndex {
    dir: Option<PathBuf>,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    words: TextAnalyzer,
    chars: TextAnalyzer,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .finish()
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str, stored: bool| {
        let options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            options.set_stored()
        } else {
            options
        }
    };
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        name: b.add_text_field("name", STORED),
        provider: b.add_text_field("provider", STORED),
        name_words: b.add_text_field("name_words", text(WORDS, false)),
        body_words: b.add_text_field("body_words", text(WORDS, false)),
        all_chars: b.add_text_field("all_chars", text(CHARS, false)),
    };
    (b.build(), fields)
}

fn analyzers() -> (TextAnalyzer, TextAnalyzer) {
    let words = TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
        .filter(LowerCaser)
        .build();
    let chars = TextAnalyzer::builder(HanCharTokenizer)
        .filter(LowerCaser)
        .build();
    (words, chars)
}

fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token().text.trim();
        if !t.is_empty() && t.chars().any(|c| c.is_alphanumeric()) {
            out.push(t.to_owned());
        }
    }
    out
}

impl SearchIndex {
    /// Opens or creates the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(search_err)?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(search_err)?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) => index,
            Err(_) => {
                // A schema from an older build: the index is derived, so start again.
                std::fs::remove_dir_all(dir).map_err(search_err)?;
                std::fs::create_dir_all(dir).map_err(search_err)?;
                Index::create_in_dir(dir, schema).map_err(search_err)?
            }
        };
        Self::from_index(Some(dir.to_owned()), index, fields)
    }

    /// An index in memory, for tests.
    pub fn in_memory() -> Result<Self> {
        let (schema, fields) = schema();
        Self::from_index(None, Index::create_in_ram(schema), fields)
    }

    fn from_index(dir: Option<PathBuf>, index: Index, fields: Fields) -> Result<Self> {
        let (words, chars) = analyzers();
        index.tokenizers().register(WORDS, words.clone());
        index.tokenizers().register(CHARS, chars.clone());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(search_err)?;
        Ok(SearchIndex {
            dir,
            index,
            reader,
            fields,
            words,
            chars,
        })
    }

    fn meta(&self) -> SyncMeta {
        self.dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join(META_FILE)).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    fn save_meta(&self, meta: &SyncMeta) -> Result<()> {
        if let Some(dir) = &self.dir {
            let text = serde_json::to_string(meta).map_err(search_err)?;
            std::fs::write(dir.join(META_FILE), text).map_err(search_err)?;
        }
        Ok(())
    }

    fn document(&self, d: &SearchDocument) -> TantivyDocument {
        let f = self.fields;
        let body = format!("{} {} {}", d.abstract_text, d.items, d.provider_name);
        let all = format!("{} {}", d.name, body);
        doc!(
            f.id => d.id.as_str(),
            f.name => d.name.as_str(),
            f.provider => d.provider_name.as_str(),
            f.name_words => d.name.as_str(),
            f.body_words => body,
            f.all_chars => all,
        )
    }

    fn writer(&self) -> Result<Option<IndexWriter>> {
        match self.index.writer(WRITER_HEAP) {
            Ok(w) => Ok(Some(w)),
            Err(tantivy::TantivyError::LockFailure(..)) => {
                tracing::warn!("search index is being written by another process; skipping sync");
                Ok(None)
            }
            Err(e) => Err(search_err(e)),
        }
    }

    /// Brings the index up to date with the catalog's change log. Returns the number of
    /// resources (re)indexed.
    pub async fn sync(&mut self, store: &dyn CatalogStore) -> Result<usize> {
        let meta = self.meta();
        let head = store.head_seq().await?;
        if meta.seq == head && head > 0 && self.reader.searcher().num_docs() > 0 {
            return Ok(0);
        }
        // Is the index still following this catalog's chain?
        let same_chain = meta.seq > 0
            && meta.seq <= head
            && store
                .changes_since(meta.seq - 1, 1)
                .await?
                .first()
                .map(|e| &e.hash)
                == meta.hash.as_ref();
        let mut changed = BTreeSet::new();
        let mut last_hash = meta.hash.clone();
        let mut full = !same_chain;
        if same_chain {
            let mut after = meta.seq;
            loop {
                let batch = store.changes_since(after, 5000).await?;
                let Some(last) = batch.last() else { break };
                after = last.seq;
                last_hash = Some(last.hash.clone());
                for e in &batch {
                    match e.entity_kind.as_str() {
                        "resource" => {
                            changed.insert(ResourceId::new(e.entity_id.clone()));
                        }
                        "column" => {
                            if let Some((r, _)) = e.entity_id.rsplit_once('.') {
                                changed.insert(ResourceId::new(r));
                            }
                        }
                        // A renamed department changes every resource it provides.
                        "org" => full = true,
                        _ => {}
                    }
                }
                if changed.len() > REBUILD_THRESHOLD {
                    full = true;
                }
            }
        }
        let Some(mut writer) = self.writer()? else {
            return Ok(0);
        };
        let mut indexed = 0;
        if full {
            writer.delete_all_documents().map_err(search_err)?;
            let mut after: Option<ResourceId> = None;
            loop {
                let docs = store.search_documents(after.as_ref(), 2000).await?;
                let Some(last) = docs.last() else { break };
                after = Some(last.id.clone());
                for d in &docs {
                    writer.add_document(self.document(d)).map_err(search_err)?;
                }
                indexed += docs.len();
            }
            last_hash = store
                .changes_since(head - 1, 1)
                .await?
                .first()
                .map(|e| e.hash.clone());
        } else {
            let ids: Vec<ResourceId> = changed.into_iter().collect();
            for id in &ids {
                writer.delete_term(Term::from_field_text(self.fields.id, id.as_str()));
            }
            for d in store.search_documents_for(&ids).await? {
                writer.add_document(self.document(&d)).map_err(search_err)?;
                indexed += 1;
            }
        }
        writer.commit().map_err(search_err)?;
        writer.wait_merging_threads().map_err(search_err)?;
        self.reader.reload().map_err(search_err)?;
        self.save_meta(&SyncMeta {
            seq: head,
            hash: last_hash,
        })?;
        Ok(indexed)
    }

    /// Searches resources. Every character of the query must occur in a resource's name,
    /// abstract, items or provider; words rank the matches.
    pub fn search(&self, query: &str, offset: usize, limit: usize) -> Result<SearchResults> {
        self.search_where(query, offset, limit, &|_| true)
    }

    /// Like [`SearchIndex::search`], over only the resources `keep` admits: the total, the
    /// ranking and the page are those of the admitted resources alone, so a resource a reader
    /// may not discover leaves no trace in what it sees.
    pub fn search_where(
        &self,
        query: &str,
        offset: usize,
        limit: usize,
        keep: &dyn Fn(&ResourceId) -> bool,
    ) -> Result<SearchResults> {
        let f = self.fields;
        let mut words = self.words.clone();
        let mut chars = self.chars.clone();
        let char_tokens: BTreeSet<String> = tokens(&mut chars, query).into_iter().collect();
        if char_tokens.is_empty() {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
            });
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = char_tokens
            .iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(f.all_chars, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Must, q)
            })
            .collect();
        let mut query_words: BTreeSet<String> = tokens(&mut words, query).into_iter().collect();
        for (short, long) in ABBREVIATIONS {
            if query.contains(short) {
                query_words.extend(tokens(&mut words, long));
            }
        }
        for word in query_words {
            for (field, boost) in [(f.name_words, 3.0), (f.body_words, 1.0)] {
                let q = TermQuery::new(
                    Term::from_field_text(field, &word),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let statistics = Admitted::new(&searcher, f.id, keep).map_err(search_err)?;
        let matching = searcher.search(&query, &Count).map_err(search_err)?;
        let top = TopDocs::with_limit(matching.max(1)).order_by_score();
        let top = searcher
            .search_with_statistics_provider(&query, &top, &statistics)
            .map_err(search_err)?;
        let mut total = 0;
        let mut hits = Vec::with_capacity(limit.min(top.len()));
        for (score, address) in top {
            let d: TantivyDocument = searcher.doc(address).map_err(search_err)?;
            let id = ResourceId::new(
                d.get_first(f.id)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default(),
            );
            if !keep(&id) {
                continue;
            }
            total += 1;
            if total <= offset || hits.len() >= limit {
                continue;
            }
            let text = |field: Field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            hits.push(SearchHit {
                id,
                name: text(f.name),
                provider_name: text(f.provider),
                score,
            });
        }
        Ok(SearchResults { total, hits })
    }

    /// Indexes documents directly (used by tests and by the in-memory index).
    pub fn index_documents(&mut self, docs: &[SearchDocument]) -> Result<()> {
        let Some(mut writer) = self.writer()? else {
            return Err(search_err("index locked by another process"));
        };
        for d in docs {
            writer.delete_term(Term::from_field_text(self.fields.id, d.id.as_str()));
            writer.add_document(self.document(d)).map_err(search_err)?;
        }
        writer.commit().map_err(search_err)?;
        self.reader.reload().map_err(search_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, name: &str, items: &str, provider: &str) -> SearchDocument {
        SearchDocument {
            id: ResourceId::new(id),
            name: name.into(),
            abstract_text: format!("{name}的数据"),
            items: items.into(),
            provider_name: provider.into(),
        }
    }

    #[test]
    fn abbreviation_finds_full_name() {
        let mut index = SearchIndex::in_memory().unwrap();
        index
            .index_documents(&[
                doc(
                    "R1",
                    "社会保险参保信息",
                    "公民身份号码 参保险种",
                    "坪山区人力资源局",
                ),
                doc(
                    "R2",
                    "人口基础信息",
                    "公民身份号码 姓名 性别",
                    "深圳市公安局坪山分局",
                ),
                doc(
                    "R3",
                    "企业登记信息",
                    "统一社会信用代码 企业名称",
                    "坪山区市场监督管理局",
                ),
            ])
            .unwrap();
        let r = index.search("社保", 0, 10).unwrap();
        assert_eq!(r.hits.first().map(|h| h.id.as_str()), Some("R1"), "{r:?}");
        assert_eq!(r.total, 1);

        let r = index.search("公民身份号码", 0, 10).unwrap();
        assert_eq!(r.total, 2);

        let r = index.search("市场监督", 0, 10).unwrap();
        assert_eq!(r.hits.first().map(|h| h.id.as_str()), Some("R3"));

        assert_eq!(index.search("  ", 0, 10).unwrap().total, 0);
        assert_eq!(index.search("气象", 0, 10).unwrap().total, 0);
    }

    #[test]
    fn hidden_resources_leave_no_trace_in_scores() {
        let visible = [
            doc("R1", "人口基础信息", "公民身份号码 姓名", "公安分局"),
            doc("R2", "户籍人口信息", "公民身份号码 户籍地址", "公安分局"),
        ];
        let hidden = [
            doc("H1", "人口死亡信息", "公民身份号码 死亡日期", "卫健局"),
            doc("H2", "流动人口信息 人口 人口", "公民身份号码", "公安分局"),
        ];
        let mut alone = SearchIndex::in_memory().unwrap();
        alone.index_documents(&visible).unwrap();
        let mut all = SearchIndex::in_memory().unwrap();
        all.index_documents(&[visible.as_slice(), hidden.as_slice()].concat())
            .unwrap();
        let keep = |id: &ResourceId| id.as_str().starts_with('R');
        for query in ["人口", "公民身份号码", "户籍"] {
            let expected = alone.search(query, 0, 10).unwrap();
            let seen = all.search_where(query, 0, 10, &keep).unwrap();
            let scores = |r: &SearchResults| {
                r.hits
                    .iter()
                    .map(|h| (h.id.to_string(), (h.score * 1e4).round()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(scores(&seen), scores(&expected), "{query}");
            assert_eq!(seen.total, expected.total, "{query}");
            // Scored over the whole index, the same query ranks differently: the check bites.
            if query == "人口" {
                let unfiltered = all.search(query, 0, 10).unwrap();
                let whole: Vec<_> = scores(&unfiltered)
                    .into_iter()
                    .filter(|(id, _)| id.starts_with('R'))
                    .collect();
                assert_ne!(whole, scores(&expected));
            }
        }
    }

    #[test]
    fn char_tokenizer_splits_han_and_keeps_ascii_words() {
        let mut t = HanCharTokenizer;
        let mut s = t.token_stream("坪山 GB11643号");
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        assert_eq!(out, ["坪", "山", "GB11643", "号"]);
    }
}
