fn main() {
    println!("answer {}", wscore::answer());
}
