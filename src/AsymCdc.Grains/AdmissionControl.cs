using AsymCdc.Abstractions;
using Microsoft.Extensions.Options;

namespace AsymCdc.Grains;

/// <summary>Counts the queries in flight on this frontend silo: refuses beyond <see cref="ServingOptions.MaxInFlight"/>
/// (fail fast beats queueing past the deadline), and refuses everything while the silo drains for shutdown.</summary>
public sealed class AdmissionControl(IOptions<ServingOptions> options)
{
    private readonly int _max = options.Value.MaxInFlight;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private volatile bool _draining;

    public int InFlight => Volatile.Read(ref _inFlight);

    public bool IsDraining => _draining;

    /// <summary>Null when admitted (call <see cref="Exit"/> when done), else why not.</summary>
    public PredictionException? TryEnter()
    {
        if (_draining)
        {
            return new PredictionException(PredictionErrorCode.Unavailable, "this frontend silo is shutting down; retry, the client will route to another silo")
            {
                NotStarted = true,
            };
        }

        if (Interlocked.Increment(ref _inFlight) > _max)
        {
            Exit();
            return new PredictionException(PredictionErrorCode.Overloaded,
                $"this frontend silo already has {_max} queries in flight (AsymCdc:Serving:MaxInFlight); retry later or add frontend silos");
        }

        return null;
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && _draining)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Stops admitting and waits until the queries in flight are answered or <paramref name="timeout"/> passes.
    /// Returns false when some were still in flight.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout, TimeProvider time)
    {
        _draining = true;
        if (InFlight == 0)
        {
            return true;
        }

        try
        {
            await _drained.Task.WaitAsync(timeout, time);
            return true;
        }
        catch (TimeoutException)
        {
            return InFlight == 0;
        }
    }
}
