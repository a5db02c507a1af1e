namespace AsymCdc.Serving;

/// <summary>The parity query of a coded mode over the k' members present, written into <paramref name="parity"/>.</summary>
public delegate void ParityEncoder(ReadOnlySpan<float> members, int count, int length, Span<float> parity);

/// <summary>
/// The coded modes (AsymCDC exact and compact, ParM, ApproxIFER): the batching policy of DESIGN §3. Each data query
/// goes to its own worker AT ONCE; when its group is sealed the parity (the mode's encoder over the members present)
/// goes to a (k+1)-th worker. Each query's own answer races its straggler deadline; on a miss the group is sealed
/// (if still open) and the answer is decoded from the other k' as soon as they are in — a late own answer that arrives
/// first still wins. A query is failed only when neither its own answer nor a reconstruction can come.
/// With a <see cref="Ledger"/> (<c>auto</c>'s redundancy budget) a group whose parity the budget cannot pay for is sealed
/// without one, and its late members are hedged instead: re-run on the worker the parity would have taken.
/// </summary>
public sealed class CodedStrategy<TWorker, TAnswer> : ServingStrategy<TWorker, TAnswer>
    where TAnswer : class
{
    private readonly ParityEncoder _encode;

    public CodedStrategy(string mode, IServingHost<TWorker, TAnswer> host, IServingObserver<TWorker> observer, ReconstructionTrigger trigger,
        ParityEncoder encode, int k, int inputLength, TimeSpan groupWindow, long firstGroupId, bool windowFromArrivals = false)
        : base(mode, host, observer, trigger)
    {
        ArgumentNullException.ThrowIfNull(encode);
        _encode = encode;
        Batcher = new GroupBatcher<TWorker, TAnswer>(host, k, inputLength, groupWindow, firstGroupId) { WindowFromArrivals = windowFromArrivals };
    }

    public GroupBatcher<TWorker, TAnswer> Batcher { get; }

    /// <summary><c>auto</c>'s budget: a parity goes out only when it pays for it; null: always.</summary>
    public RedundancyLedger? Ledger { get; init; }

    protected override void Serve(ServedQuery<TAnswer> query)
    {
        var (group, index) = Batcher.Join(query.Input, query.Started);
        query.GroupId = group.Id;
        var member = new CodedMember<TWorker, TAnswer>(query, index);
        group.Members[index] = member;
        member.Own = Prepare(group.Workers[index], query.Input, CallRole.Data, group.Id, c => OnOwnAnswer(group, member, c));
        group.Data[index] = member.Own;
        Host.Send(member.Own);
        if (group.IsFull)
        {
            Seal(group);
        }
        else if (index == 0)
        {
            var window = Batcher.WindowNow;
            if (window > TimeSpan.Zero)
            {
                After(window, () => Seal(group));
            }
            else
            {
                Seal(group); // at this arrival rate no second member is due within the window
            }
        }

        if (!member.Own.IsCompleted && !query.IsDone)
        {
            member.Deadline = After(Trigger.Current, () => Miss(group, member));
        }
    }

    private void OnOwnAnswer(CodedGroup<TWorker, TAnswer> group, CodedMember<TWorker, TAnswer> member, WorkerDispatch<TWorker, TAnswer> own)
    {
        if (own.IsSucceeded)
        {
            member.Deadline?.Dispose();
            Trigger.OwnAnswered(Time.GetElapsedTime(member.Query.Started), late: member.Missed);

            member.Query.TryAnswer(own.Result!, AnswerPath.Direct, own.Worker);
        }
        else if (!member.Missed)
        {
            Miss(group, member); // its worker failed: rebuild it now rather than at the deadline
        }
        else
        {
            Progress(group, member);
        }

        OnGroupAnswer(group);
    }

    /// <summary>A member's own answer is late or failed: seal the group (the decode needs the parity now) and decode
    /// as soon as the others are in.</summary>
    private void Miss(CodedGroup<TWorker, TAnswer> group, CodedMember<TWorker, TAnswer> member)
    {
        member.Deadline?.Dispose();
        if (member.Missed || member.Query.IsDone)
        {
            return;
        }

        member.Missed = true;
        Observer.StragglerDetected();
        Observer.MemberMissed(group.Id, member.Index, group.Workers[member.Index], member.Own.IsFailed);
        Seal(group);
        if (group.Uncoded)
        {
            member.Backup = Send(group.ParityWorker, member.Query.Input, CallRole.Hedge, group.Id, _ => OnBackup(member));
            return;
        }

        Progress(group, member);
    }

    /// <summary>The hedge of a member of a group sealed without a parity answered or failed; the first answer wins.</summary>
    private void OnBackup(CodedMember<TWorker, TAnswer> member)
    {
        var backup = member.Backup!;
        if (backup.IsSucceeded)
        {
            member.Query.TryAnswer(backup.Result!, AnswerPath.Backup, backup.Worker);
        }
        else if (member.Own.IsFailed)
        {
            member.Query.TryFail(AllCallsFailed(backup.Error));
        }
    }

    /// <summary>Any answer of the group came in: a missed member may now be decodable, or lost; with an eager decoder
    /// (exact: its reconstruction is the straggler's own answer) a member whose k' others are all in is decoded now.</summary>
    private void OnGroupAnswer(CodedGroup<TWorker, TAnswer> group)
    {
        for (var j = 0; j < group.Count; j++)
        {
            if (group.Members[j] is not { } m || m.Query.IsDone)
            {
                continue;
            }

            if (m.Missed)
            {
                Progress(group, m);
            }
            else if (DecodeWhenOthersIn && group.IsSealed && !m.Own.IsCompleted && group.OthersSucceeded(j))
            {
                Miss(group, m);
            }
        }
    }

    /// <summary>Decode as soon as the other k' answers are in, without waiting out the trigger (ParM's rule; costs no
    /// accuracy where the decoder is exact).</summary>
    public bool DecodeWhenOthersIn { get; init; }

    private void Progress(CodedGroup<TWorker, TAnswer> group, CodedMember<TWorker, TAnswer> member)
    {
        if (member.Query.IsDone)
        {
            return;
        }

        if (group.Uncoded)
        {
            if (member.Own.IsFailed && member.Backup is { IsFailed: true })
            {
                member.Query.TryFail(AllCallsFailed(member.Own.Error));
            }

            return;
        }

        if (member.Decode is null && group.IsSealed && group.OthersSucceeded(member.Index))
        {
            member.Decode = new DecodeJob<TWorker, TAnswer>(group, member.Index, member.Query, Time.GetTimestamp(), job => OnDecoded(group, member, job));
            Host.Decode(member.Decode);
            return;
        }

        // Lost: its own call failed and no reconstruction can come (another answer of the group failed, or the decode did).
        var cannotDecode = member.Decode is { Error: not null } ? member.Decode.Error : member.Decode is null ? group.OthersFailure(member.Index) : null;
        if (member.Own.IsFailed && cannotDecode is not null)
        {
            Observer.MemberLost(group.Id, member.Index, cannotDecode.Message);
            member.Query.TryFail(new QueryFailure(
                $"query {member.Index} of group {group.Id} ({Mode}) could not be answered: its worker call failed "
                + $"({member.Own.Error!.Message}) and the group could not rebuild it ({cannotDecode.Message}); the query may be retried",
                cannotDecode, CauseIsTheAnswer: false));
        }
    }

    private void OnDecoded(CodedGroup<TWorker, TAnswer> group, CodedMember<TWorker, TAnswer> member, DecodeJob<TWorker, TAnswer> job)
    {
        if (job.Result is not null)
        {
            Observer.Decoded(Time.GetElapsedTime(job.Started));
            var own = member.Own;
            member.Query.WhenOwnAnswerArrives = watcher => own.Watch(c =>
            {
                if (c.IsSucceeded)
                {
                    watcher(c.Result!);
                }
            });
            member.Query.TryAnswer(job.Result, AnswerPath.Reconstructed, null);
            return;
        }

        Observer.DecodeFailed(group.Id, member.Index, job.Error!);
        Progress(group, member);
    }

    /// <summary>Encodes the parity over the k' members present and dispatches it (where the budget pays for it); the
    /// group takes no more members.</summary>
    private void Seal(CodedGroup<TWorker, TAnswer> group)
    {
        if (group.IsSealed)
        {
            return;
        }

        Batcher.Close(group);
        if (Ledger is { } ledger && !ledger.AffordsParity())
        {
            group.Uncoded = true;
            Observer.GroupFormed(partial: !group.IsFull, parity: false);
            return;
        }

        var length = group.InputLength;
        var parityInput = new float[length];
        using (Observer.Encoding(group.Id, group.Count))
        {
            _encode(group.Inputs.AsSpan(0, group.Count * length), group.Count, length, parityInput);
        }

        Observer.GroupFormed(partial: !group.IsFull, parity: true);
        group.Parity = Prepare(group.ParityWorker, parityInput, CallRole.Parity, group.Id, _ => OnGroupAnswer(group));
        Host.Send(group.Parity);
    }
}
