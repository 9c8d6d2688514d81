//! A gzip decompression bomb, built by hand: the body of `/gzip/{key}`
//! (see [`crate::faults`]). Written here, deflate bits and CRC-32 included,
//! so the server needs no compression library and the bytes say exactly
//! what they are.

use std::sync::OnceLock;

/// How many bytes `/gzip/...` expands to when decompressed: 1 MiB of zeros.
pub const GZIP_EXPANDED: usize = 1024 * 1024;

/// A gzip member (RFC 1952) that decompresses to [`GZIP_EXPANDED`] zero
/// bytes: a small body with a large expansion, the shape of a
/// decompression bomb. Built once.
///
/// The deflate stream (RFC 1951) is one block with the fixed Huffman codes:
/// a literal zero, then back-references of length 258 at distance 1 (13
/// bits for 258 bytes), then literal zeros for the rest.
pub fn gzip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        // ID1 ID2, CM = deflate, no flags, no mtime, XFL 0, OS unknown.
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let mut bits = Bits::new(&mut out);
        bits.value(1, 1); // BFINAL
        bits.value(1, 2); // BTYPE 01: fixed Huffman codes
        const LITERAL_ZERO: u32 = 0x30; // 8 bits: literals 0..=143 are 0x30 + value
        const LENGTH_258: u32 = 0xc5; // 8 bits: code 285 = 0b11000000 + (285 - 280)
        const END_OF_BLOCK: u32 = 0; // 7 bits: code 256
        bits.code(LITERAL_ZERO, 8);
        let mut left = GZIP_EXPANDED - 1;
        while left >= 258 {
            bits.code(LENGTH_258, 8);
            bits.code(0, 5); // distance code 0: distance 1
            left -= 258;
        }
        for _ in 0..left {
            bits.code(LITERAL_ZERO, 8);
        }
        bits.code(END_OF_BLOCK, 7);
        bits.finish();
        let zeros = [0u8; 4096];
        let mut crc = Crc32::new();
        for _ in 0..GZIP_EXPANDED / zeros.len() {
            crc.update(&zeros);
        }
        out.extend_from_slice(&crc.finish().to_le_bytes());
        out.extend_from_slice(&(GZIP_EXPANDED as u32).to_le_bytes());
        out
    })
}

/// Writes a deflate bit stream: bits fill each byte from its lowest bit.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    byte: u8,
    used: u8,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut Vec<u8>) -> Bits<'a> {
        Bits {
            out,
            byte: 0,
            used: 0,
        }
    }

    fn bit(&mut self, bit: u32) {
        self.byte |= ((bit & 1) as u8) << self.used;
        self.used += 1;
        if self.used == 8 {
            self.out.push(self.byte);
            self.byte = 0;
            self.used = 0;
        }
    }

    /// A value of `n` bits, lowest bit first (header fields, extra bits).
    fn value(&mut self, value: u32, n: u32) {
        for i in 0..n {
            self.bit(value >> i);
        }
    }

    /// A Huffman code of `n` bits, highest bit first.
    fn code(&mut self, code: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit(code >> i);
        }
    }

    /// Pads the last byte with zero bits.
    fn finish(self) {
        if self.used > 0 {
            self.out.push(self.byte);
        }
    }
}

/// CRC-32 (IEEE, reflected), as gzip's trailer wants it.
struct Crc32 {
    table: [u32; 256],
    crc: u32,
}

impl Crc32 {
    fn new() -> Crc32 {
        let mut table = [0u32; 256];
        for (n, entry) in (0u32..).zip(table.iter_mut()) {
            let mut c = n;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        Crc32 { table, crc: !0 }
    }

    fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.crc = self.table[((self.crc ^ u32::from(byte)) & 0xff) as usize] ^ (self.crc >> 8);
        }
    }

    fn finish(&self) -> u32 {
        !self.crc
    }
}
