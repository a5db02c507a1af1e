namespace AsymCdc.Client;

/// <summary>
/// A token bucket that bounds hedges to a fraction of calls: every call earns one token, a hedge costs
/// <c>1 / fraction</c> of them, and the bucket holds at most <c>burst</c> hedges' worth (it starts full). Lock-free.
/// </summary>
public sealed class HedgeBudget
{
    private readonly int _cost;
    private readonly int _capacity;
    private int _tokens;
    private TaskCompletionSource? _refilled;

    public HedgeBudget(double fraction, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(fraction, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _cost = (int)Math.Round(1 / fraction);
        _capacity = burst * _cost;
        _tokens = _capacity;
    }

    /// <summary>Hedges the bucket can pay for now.</summary>
    public int Available => Volatile.Read(ref _tokens) / _cost;

    /// <summary>Completes when the bucket can pay for a hedge: at once if it can now, else when a call earns the token
    /// that makes it so. Every waiter wakes then and one wins the hedge (<see cref="TrySpend"/>); the others wait again.</summary>
    public Task Refilled
    {
        get
        {
            var signal = Volatile.Read(ref _refilled);
            if (signal is null)
            {
                var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signal = Interlocked.CompareExchange(ref _refilled, fresh, null) ?? fresh;
            }

            // Armed before this read: a token earned in between is either seen here or completes the signal in Earn.
            if (Volatile.Read(ref _tokens) >= _cost)
            {
                Complete();
            }

            return signal.Task;
        }
    }

    /// <summary>A call was sent.</summary>
    public void Earn()
    {
        if (Volatile.Read(ref _tokens) < _capacity && Interlocked.Increment(ref _tokens) >= _cost && Volatile.Read(ref _refilled) is not null)
        {
            Complete();
        }
    }

    private void Complete() => Interlocked.Exchange(ref _refilled, null)?.TrySetResult();

    /// <summary>Pays for one hedge if the bucket can; false when the budget is spent.</summary>
    public bool TrySpend()
    {
        var tokens = Volatile.Read(ref _tokens);
        while (tokens >= _cost)
        {
            var seen = Interlocked.CompareExchange(ref _tokens, tokens - _cost, tokens);
            if (seen == tokens)
            {
                return true;
            }

            tokens = seen;
        }

        return false;
    }
}
