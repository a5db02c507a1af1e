using System.Runtime.InteropServices;

namespace AsymCdc.Cli.Cluster;

/// <summary>Runs a clean-up once, when the process is told to stop (SIGTERM, SIGHUP, SIGINT) or exits, so that child
/// processes never outlive a drill. The signal's default action (ending the process) follows the clean-up.</summary>
/// <remarks>.NET raises <see cref="AppDomain.ProcessExit"/> on a normal exit, but a console program that registers
/// no signal handler is ended by SIGTERM's default action before any managed code runs (exit code 143).</remarks>
public sealed class ExitHook : IDisposable
{
    private readonly Action _cleanup;
    private readonly PosixSignalRegistration[] _signals;
    private int _done;

    public ExitHook(Action cleanup)
    {
        _cleanup = cleanup;
        _signals = [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGINT }
            .Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];
        AppDomain.CurrentDomain.ProcessExit += OnExit;
    }

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnExit;
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }
    }

    /// <summary>Takes the clean-up over (the program runs it itself, in order): true the first time, and then the hook
    /// does nothing; a signal that arrives meanwhile no longer ends the process, so that the program's clean-up finishes.</summary>
    public bool Claim() => Interlocked.Exchange(ref _done, 1) == 0;

    private void OnSignal(PosixSignalContext context)
    {
        if (!Run())
        {
            context.Cancel = true;
        }
    }

    private void OnExit(object? sender, EventArgs e) => Run();

    private bool Run()
    {
        if (!Claim())
        {
            return false;
        }

        _cleanup();
        return true;
    }
}
