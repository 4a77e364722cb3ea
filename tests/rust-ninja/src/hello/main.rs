fn main() {
    println!("{}", greet::greeting("ninja"));
}
