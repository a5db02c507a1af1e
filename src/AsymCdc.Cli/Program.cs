System.Console.WriteLine("asymcdc");
