using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using AsymCdc.Inference;

namespace AsymCdc.Training;

/// <summary>
/// Runs <c>python3 -m training.user_decoders</c> (Debian's PyTorch, CPU) on the targets the C# side wrote: it trains the
/// compact decoders and ParM parity models and exports them into the model repository. Its output is passed on line by
/// line; a failure ends in a <see cref="DecoderTrainingException"/> quoting its last lines.
/// </summary>
public static class PythonDecoderTraining
{
    public const string Module = "training.user_decoders";

    /// <summary>The module's file, relative to the folder the interpreter runs in.</summary>
    public static readonly string ModuleFile = Path.Combine("training", "user_decoders.py");

    private const int TailLines = 30;

    /// <summary>The folder holding <c>training/user_decoders.py</c>: <paramref name="configured"/>, else the repository,
    /// else the nearest <c>models/</c> above the working or application directory.</summary>
    public static string FindCode(string? configured, string repository)
    {
        var tried = new List<string>();
        foreach (var candidate in Candidates(configured, repository))
        {
            tried.Add(candidate);
            if (File.Exists(Path.Combine(candidate, ModuleFile)))
            {
                return candidate;
            }
        }

        throw new DecoderTrainingException(
            $"The decoder training code ({ModuleFile}) is not in any of: {string.Join(", ", tried.Distinct())}. Run from the AsymCdc checkout (it lives in models/training).");
    }

    /// <summary>Trains and exports; <paramref name="log"/> hears every line the module prints.</summary>
    public static async Task RunAsync(DecoderTrainingOptions options, string codeDirectory, string targetsDirectory, string repository,
        Action<string>? log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Path.IsPathRooted(options.Python) && !File.Exists(options.Python))
        {
            throw new DecoderTrainingException(
                $"Python interpreter '{options.Python}' does not exist. Install Debian's python3 with python3-torch and python3-onnx (apt-get install python3-torch python3-onnx), or pass --python PATH.");
        }

        var start = new ProcessStartInfo(options.Python)
        {
            WorkingDirectory = codeDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in Arguments(options, targetsDirectory, repository))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1"; // no __pycache__ inside models/training
        var tail = new Queue<string>();
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > TailLines)
                {
                    tail.Dequeue();
                }
            }

            log?.Invoke(line);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new DecoderTrainingException($"Could not start '{options.Python}'.");
        }
        catch (Win32Exception e)
        {
            throw new DecoderTrainingException(
                $"Could not start Python '{options.Python}' ({e.Message}). Install Debian's python3 with python3-torch and python3-onnx, or pass --python PATH.", e);
        }

        using (process)
        {
            process.OutputDataReceived += (_, e) => Line(e.Data);
            process.ErrorDataReceived += (_, e) => Line(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            process.WaitForExit(); // drains the redirected streams
            if (process.ExitCode != 0)
            {
                string output;
                lock (tail)
                {
                    output = string.Join(Environment.NewLine, tail);
                }

                var hint = output.Contains("No module named 'torch'", StringComparison.Ordinal) || output.Contains("No module named 'onnx'", StringComparison.Ordinal)
                    ? $" '{options.Python}' lacks PyTorch or ONNX: apt-get install python3-torch python3-onnx python3-numpy (Debian)."
                    : "";
                throw new DecoderTrainingException(
                    $"'{options.Python} -m {Module}' failed with exit code {process.ExitCode}.{hint} Its last output:{Environment.NewLine}{output}");
            }
        }
    }

    internal static List<string> Arguments(DecoderTrainingOptions options, string targetsDirectory, string repository)
    {
        var arguments = new List<string>
        {
            "-m", Module,
            "--targets", Path.GetFullPath(targetsDirectory),
            "--out", Path.GetFullPath(repository),
            "--epochs", options.Epochs.ToString(CultureInfo.InvariantCulture),
        };
        if (options.MaxSteps is { } steps)
        {
            arguments.Add("--max-steps");
            arguments.Add(steps.ToString(CultureInfo.InvariantCulture));
        }

        return arguments;
    }

    private static IEnumerable<string> Candidates(string? configured, string repository)
    {
        if (configured is not null)
        {
            yield return Path.GetFullPath(configured);
            yield break;
        }

        yield return Path.GetFullPath(repository);
        foreach (var root in ModelRepositoryLocator.SearchRoots())
        {
            yield return Path.Combine(root, ModelRepositoryLocator.FolderName);
        }
    }
}
