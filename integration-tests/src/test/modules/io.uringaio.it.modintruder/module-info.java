/** A module that reaches for the engine's internal libc binding: ModulePathTest expects javac to refuse it. */
module io.uringaio.it.modintruder {
    requires io.uringaio.engine;
}
