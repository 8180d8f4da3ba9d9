package io.uringaio.nio;

import org.apache.lucene.analysis.standard.StandardAnalyzer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SerialMergeScheduler;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.NIOFSDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lucene indexes and searches a generated corpus through {@code NIOFSDirectory} on a path of the uring provider
 * ({@link UringFiles#path}, no JVM flag) and on the JDK's file system; every query must give the same hits and scores.
 */
class LuceneSearchTest {
    private static final int DOCS = 3000;
    private static final int VOCABULARY = 400;

    @TempDir
    Path dir;

    @Test
    void theSameCorpusGivesTheSameHitsOnBothFileSystems() throws IOException {
        Path onUring = UringFiles.path(dir.resolve("uring"));
        Path onJdk = dir.resolve("jdk");
        assertTrue(onUring.getFileSystem().provider() instanceof UringFileSystemProvider);
        index(onUring);
        index(onJdk);
        List<Query> queries = queries();
        try (Directory u = new NIOFSDirectory(onUring); Directory j = new NIOFSDirectory(onJdk);
             DirectoryReader ur = DirectoryReader.open(u); DirectoryReader jr = DirectoryReader.open(j)) {
            assertEquals(DOCS, ur.numDocs());
            IndexSearcher us = new IndexSearcher(ur);
            IndexSearcher js = new IndexSearcher(jr);
            int withHits = 0;
            for (Query q : queries) {
                List<String> uh = hits(us, q);
                List<String> jh = hits(js, q);
                assertEquals(jh, uh, "hits of " + q);
                withHits += uh.isEmpty() ? 0 : 1;
            }
            assertTrue(withHits > queries.size() / 2, "the queries must find something: " + withHits);
        }
    }

    private static String word(int i) {
        return "w" + Integer.toString(i * 7919 % 100_003, 36);
    }

    private static void index(Path path) throws IOException {
        Random random = new Random(42);
        IndexWriterConfig config = new IndexWriterConfig(new StandardAnalyzer())
                .setMergeScheduler(new SerialMergeScheduler())
                .setMaxBufferedDocs(500);
        try (Directory d = new NIOFSDirectory(path); IndexWriter w = new IndexWriter(d, config)) {
            for (int i = 0; i < DOCS; i++) {
                Document doc = new Document();
                doc.add(new StringField("id", Integer.toString(i), Field.Store.YES));
                StringBuilder body = new StringBuilder();
                int words = 5 + random.nextInt(60);
                for (int k = 0; k < words; k++) {
                    // Zipf-like: low word numbers are common.
                    int n = (int) Math.floor(Math.pow(random.nextDouble(), 3) * VOCABULARY);
                    body.append(word(n)).append(' ');
                }
                doc.add(new TextField("body", body.toString(), Field.Store.YES));
                w.addDocument(doc);
                if (i % 1000 == 999) {
                    w.commit();
                }
            }
            w.deleteDocuments(new Term("id", "7"));
            w.addDocument(doc("7", word(1) + " " + word(2)));
            w.forceMerge(2);
            w.commit();
        }
    }

    private static Document doc(String id, String body) {
        Document doc = new Document();
        doc.add(new StringField("id", id, Field.Store.YES));
        doc.add(new TextField("body", body, Field.Store.YES));
        return doc;
    }

    private static List<Query> queries() {
        Random random = new Random(7);
        List<Query> queries = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            String a = word(random.nextInt(VOCABULARY));
            String b = word(random.nextInt(VOCABULARY / 4));
            switch (i % 3) {
                case 0 -> queries.add(new TermQuery(new Term("body", a)));
                case 1 -> queries.add(new BooleanQuery.Builder()
                        .add(new TermQuery(new Term("body", a)), BooleanClause.Occur.SHOULD)
                        .add(new TermQuery(new Term("body", b)), BooleanClause.Occur.MUST).build());
                default -> queries.add(new PhraseQuery("body", b, word(random.nextInt(VOCABULARY / 4))));
            }
        }
        return queries;
    }

    private static List<String> hits(IndexSearcher searcher, Query q) throws IOException {
        TopDocs top = searcher.search(q, 20);
        StoredFields stored = searcher.storedFields();
        List<String> out = new ArrayList<>();
        out.add("total=" + top.totalHits);
        for (ScoreDoc sd : top.scoreDocs) {
            Document d = stored.document(sd.doc);
            out.add(d.get("id") + ":" + sd.score + ":" + d.get("body").length());
        }
        return out;
    }
}
