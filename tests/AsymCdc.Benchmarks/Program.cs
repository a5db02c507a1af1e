using AsymCdc.Benchmarks;
using BenchmarkDotNet.Running;

// `evaluate` runs the degraded-mode evaluation on the real models; anything else goes to BenchmarkDotNet
// (e.g. `--filter *Encoder*`, `--list flat`).
return args is ["evaluate", .. var rest]
    ? await EvaluateCommand.RunAsync(rest)
    : Run(args);

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EncoderBenchmarks).Assembly).Run(args);
    return 0;
}
