namespace AsymCdc.Cli.Cluster;

/// <summary>Runs a clean-up once, when disposed or when the process exits (SIGTERM, SIGHUP, Ctrl-C all raise
/// <see cref="AppDomain.ProcessExit"/> on .NET), so that child processes never outlive a drill.</summary>
public sealed class ExitHook : IDisposable
{
    private readonly Action _cleanup;
    private int _done;

    public ExitHook(Action cleanup)
    {
        _cleanup = cleanup;
        AppDomain.CurrentDomain.ProcessExit += OnExit;
    }

    public void Dispose() => AppDomain.CurrentDomain.ProcessExit -= OnExit;

    private void OnExit(object? sender, EventArgs e)
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            _cleanup();
        }
    }
}
