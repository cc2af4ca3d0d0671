//! Parser and writer throughput on typical traffic.
//!
//! `cargo bench -p xml-stream --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use xml_stream::writer::write_stanza;
use xml_stream::{ns, Element, Limits, StreamEvent, StreamParser};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' to='capulet.example' version='1.0' \
    xml:lang='en'>";

/// What `io` hands the parser at most per read.
const READ_CHUNK: usize = 16 * 1024;

/// A one-to-one chat message of about 200 bytes.
fn chat_message(i: usize) -> String {
    format!(
        "<message from='juliet@capulet.example/balcony' to='romeo@montague.example' \
         type='chat' id='msg{i:08}'><body>Wherefore art thou, Romeo? Deny thy father &amp; \
         refuse thy name.</body></message>"
    )
}

/// A presence broadcast with a few children (show, status, priority, entity caps).
fn presence(i: usize) -> String {
    format!(
        "<presence from='nurse{i}@capulet.example/phone' id='p{i}'><show>away</show>\
         <status>Gone to fetch the cords</status><priority>5</priority>\
         <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' \
         node='https://example.org/client' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>"
    )
}

/// A stanza of about 64 KB: a PubSub item carrying a large payload with some markup.
fn large_stanza() -> String {
    let mut payload = String::new();
    let mut i = 0;
    while payload.len() < 64 * 1024 - 400 {
        payload.push_str(&format!(
            "<entry n='{i}'>Lorem ipsum dolor sit amet, consectetur adipiscing elit &amp; \
             sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</entry>"
        ));
        i += 1;
    }
    format!(
        "<iq type='set' id='publish1' to='pubsub.capulet.example'>\
         <pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='big'>\
         <item id='1'><data xmlns='urn:example:bulk'>{payload}</data></item>\
         </publish></pubsub></iq>"
    )
}

/// A parser that has read the stream header.
fn ready_parser() -> StreamParser {
    let mut parser = StreamParser::new(Limits::default());
    let mut data = HEADER.as_bytes();
    match parser.next_event(&mut data) {
        Ok(Some(StreamEvent::Header(_))) => parser,
        other => panic!("{other:?}"),
    }
}

/// Feeds `input` in socket-sized chunks and counts the stanzas that come out.
fn parse_stream(mut parser: StreamParser, input: &[u8]) -> usize {
    let mut stanzas = 0;
    for chunk in input.chunks(READ_CHUNK) {
        let mut data = chunk;
        while let Some(event) = parser.next_event(&mut data).expect("valid input") {
            if let StreamEvent::Stanza(el) = event {
                black_box(&el);
                stanzas += 1;
            }
        }
    }
    stanzas
}

fn bench_parse(c: &mut Criterion) {
    let cases: [(&str, String, usize); 3] = [
        (
            "chat_messages_200B",
            (0..1000).map(chat_message).collect(),
            1000,
        ),
        (
            "presence_with_children",
            (0..1000).map(presence).collect(),
            1000,
        ),
        ("stanza_64KB", large_stanza(), 1),
    ];
    let mut group = c.benchmark_group("parse");
    for (name, input, count) in &cases {
        assert_eq!(parse_stream(ready_parser(), input.as_bytes()), *count);
        group.throughput(Throughput::ElementsAndBytes {
            elements: *count as u64,
            bytes: input.len() as u64,
        });
        group.bench_function(*name, |b| {
            b.iter_batched(
                ready_parser,
                |parser| parse_stream(parser, black_box(input.as_bytes())),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn bench_write(c: &mut Criterion) {
    let message = Element::builder("message", ns::CLIENT)
        .attr(
            rxml::xml_ncname!("from").into(),
            "juliet@capulet.example/balcony",
        )
        .attr(rxml::xml_ncname!("to").into(), "romeo@montague.example")
        .attr(rxml::xml_ncname!("type").into(), "chat")
        .attr(rxml::xml_ncname!("id").into(), "msg00000001")
        .append(
            Element::builder("body", ns::CLIENT)
                .append("Wherefore art thou, Romeo? Deny thy father & refuse thy name.")
                .build(),
        )
        .append(Element::bare(
            "active",
            "http://jabber.org/protocol/chatstates",
        ))
        .build();
    let mut out = BytesMut::with_capacity(1024);
    write_stanza(&message, Some(ns::CLIENT), &mut out);
    let len = out.len();

    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::ElementsAndBytes {
        elements: 1,
        bytes: len as u64,
    });
    group.bench_function("chat_message", |b| {
        b.iter(|| {
            out.clear();
            write_stanza(black_box(&message), Some(ns::CLIENT), &mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse, bench_write);
criterion_main!(benches);
