// rust-blocks: 100 heap blocks of 1000..1099 bytes made in one function, kept until exit.
// Exact truth (samples/README.md): make_blocks allocates the outer vector once (100 x 24 bytes)
// and each block once (1000 + i bytes, i = 0..99): 101 mallocs, 107,350 bytes, none freed before
// main returns.

#[inline(never)]
fn make_blocks(n: usize) -> Vec<Vec<u8>> {
    let mut blocks = Vec::with_capacity(n);
    for i in 0..n {
        blocks.push(vec![7u8; 1000 + i]);
    }
    blocks
}

fn main() {
    let blocks = make_blocks(100);
    let bytes: usize = blocks.iter().map(|b| b.len()).sum();
    println!("rust-blocks: blocks={} bytes={}", blocks.len(), bytes);
}
